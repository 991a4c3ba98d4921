// The in-cluster image builder against the Kubernetes fake: the BuildKit container is stood in
// for by a Node process that prints build lines and exits as the test chose.
import { parseEnvironmentHash } from '@skiff/hashing';
import { processPodRunner, startKubernetesFake, type KubernetesFake } from '@skiff/testing';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageBuildError, type ImageBuildRequest } from '../images/index.js';
import { KubernetesImageBuilder } from './image-builder.js';

const NS = 'skiff';
let fake: KubernetesFake;
let builder: KubernetesImageBuilder;
/** Environment hex → what its build does. */
const outcomes = new Map<string, 'fail' | 'hang'>();

function request(hex: string): ImageBuildRequest {
  return {
    environmentHash: parseEnvironmentHash(`sha256:v1:${hex}`),
    image: `registry.invalid/team-a/envs:v1-${hex}`,
    destination: {
      registry: 'registry.invalid',
      repository: 'team-a/envs',
      tag: `v1-${hex}`,
      insecure: false,
    },
    context: {
      dockerfile: 'FROM registry.invalid/base:1\n',
      files: { 'requirements.txt': 'numpy\n' },
    },
  };
}

beforeEach(async () => {
  outcomes.clear();
  const runner = processPodRunner({
    args: [
      '-e',
      `console.log('#1 [internal] load build definition from Dockerfile');
       if (process.env.OUTCOME === 'hang') setInterval(() => {}, 1000);
       else { console.log(process.env.OUTCOME === 'fail' ? 'ERROR: failed to solve' : '#9 pushing layers done'); process.exitCode = process.env.OUTCOME === 'fail' ? 1 : 0; }`,
    ],
    env: (launch) => {
      const labels = (launch.pod['metadata'] as { labels?: Record<string, string> }).labels ?? {};
      return { OUTCOME: outcomes.get(labels['skiff.io/environment'] ?? '') ?? 'ok' };
    },
  });
  fake = await startKubernetesFake({ namespaces: [NS], runner });
  builder = new KubernetesImageBuilder({
    kubeConfig: fake.kubeConfig,
    namespace: NS,
    pollIntervalMs: 20,
  });
});

afterEach(async () => {
  await fake.close();
});

describe('KubernetesImageBuilder', () => {
  it('runs the build Job, owns its context ConfigMap by the Job, and returns the log', async () => {
    const hex = '1'.repeat(64);
    const result = await builder.build(request(hex));
    expect(result.image).toBe(`registry.invalid/team-a/envs:v1-${hex}`);
    expect(result.logs).toEqual([
      '#1 [internal] load build definition from Dockerfile',
      '#9 pushing layers done',
    ]);
    const created = fake.accepted.filter((m) => m.operation === 'create');
    expect(created.map((m) => m.kind)).toEqual(['ConfigMap', 'Job']);
    expect(() => new ConfigMap(created[0]!.body as never).validate()).not.toThrow();
    expect(() => new Job(created[1]!.body as never).validate()).not.toThrow();
    const job = fake.objects('Job', NS)[0]!;
    const map = fake.objects('ConfigMap', NS)[0]!;
    expect(
      (map['metadata'] as { ownerReferences: { uid: string }[] }).ownerReferences[0]?.uid,
    ).toBe((job['metadata'] as { uid: string }).uid);
  });

  it('fails with the reason and the log when the build fails', async () => {
    const hex = '2'.repeat(64);
    outcomes.set(hex.slice(0, 63), 'fail');
    const failure = await builder.build(request(hex)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(ImageBuildError);
    expect((failure as ImageBuildError).message).toContain('BackoffLimitExceeded');
    expect((failure as ImageBuildError).logs).toContain('ERROR: failed to solve');
  });

  it("lets a second caller of the same environment wait for the first one's Job", async () => {
    const hex = '3'.repeat(64);
    const other = new KubernetesImageBuilder({
      kubeConfig: fake.kubeConfig,
      namespace: NS,
      pollIntervalMs: 20,
    });
    const [a, b] = await Promise.all([builder.build(request(hex)), other.build(request(hex))]);
    expect(a.image).toBe(b.image);
    expect(fake.accepted.filter((m) => m.kind === 'Job')).toHaveLength(1);
  });

  it('stops waiting when the caller gives up, leaving the Job to others', async () => {
    const hex = '4'.repeat(64);
    outcomes.set(hex.slice(0, 63), 'hang');
    const controller = new AbortController();
    const build = builder.build({ ...request(hex), signal: controller.signal });
    await fake.until(
      () =>
        fake
          .objects('Pod', NS)
          .some((p) => (p['status'] as { phase?: string }).phase === 'Running'),
      'the build pod to run',
    );
    controller.abort(new Error('the deployment was cancelled'));
    await expect(build).rejects.toThrow('the deployment was cancelled');
    expect(fake.objects('Job', NS)).toHaveLength(1);
  });
});
