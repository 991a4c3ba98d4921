// Leases (optimistic concurrency on resourceVersion, MicroTime) and Jobs (pods that run to
// completion, backoffLimit, logs, the Orphan default of a Job delete).
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startKubernetesFake, type KubernetesFake } from './fake.js';
import { processPodRunner } from './runner.js';

const namespace = 'team-a';
let fake: KubernetesFake;

async function code(promise: Promise<unknown>): Promise<number> {
  return promise.then(
    () => 0,
    (e: unknown) => (e instanceof k8s.ApiException ? e.code : -1),
  );
}

describe('leases', () => {
  let leases: k8s.CoordinationV1Api;

  beforeEach(async () => {
    fake = await startKubernetesFake({ namespaces: [namespace] });
    leases = fake.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  });

  afterEach(async () => {
    await fake.close();
  });

  const lease = (holder: string): k8s.V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'skiff-agent' },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: new k8s.V1MicroTime() },
  });

  it('creates, reads and replaces; a replace with a stale resourceVersion is a 409', async () => {
    const created = await leases.createNamespacedLease({ namespace, body: lease('a') });
    expect(await code(leases.createNamespacedLease({ namespace, body: lease('b') }))).toBe(409);
    const read = await leases.readNamespacedLease({ name: 'skiff-agent', namespace });
    expect(read.spec?.holderIdentity).toBe('a');
    read.spec!.holderIdentity = 'b';
    const replaced = await leases.replaceNamespacedLease({
      name: 'skiff-agent',
      namespace,
      body: read,
    });
    expect(replaced.spec?.holderIdentity).toBe('b');
    created.spec!.holderIdentity = 'c';
    expect(
      await code(leases.replaceNamespacedLease({ name: 'skiff-agent', namespace, body: created })),
    ).toBe(409);
    expect(
      (await leases.readNamespacedLease({ name: 'skiff-agent', namespace })).spec?.holderIdentity,
    ).toBe('b');
  });

  it('refuses a renewTime without microseconds, as the real API server cannot parse it (400)', async () => {
    const body = lease('a');
    body.spec!.renewTime = new Date() as k8s.V1MicroTime; // JSON: .123Z, three digits
    expect(await code(leases.createNamespacedLease({ namespace, body }))).toBe(400);
  });
});

describe('jobs', () => {
  let batch: k8s.BatchV1Api;
  let core: k8s.CoreV1Api;

  beforeEach(async () => {
    // Each job container prints its MESSAGE and exits with EXIT_CODE (from the Job's env).
    const runner = processPodRunner({
      args: [
        '-e',
        "console.log(process.env.MESSAGE); process.exitCode = Number(process.env.EXIT_CODE ?? '0')",
      ],
    });
    fake = await startKubernetesFake({ namespaces: [namespace], runner });
    batch = fake.kubeConfig.makeApiClient(k8s.BatchV1Api);
    core = fake.kubeConfig.makeApiClient(k8s.CoreV1Api);
  });

  afterEach(async () => {
    await fake.close();
  });

  const job = (name: string, exitCode: number, backoffLimit = 1): k8s.V1Job => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'build',
              image: 'registry.invalid/builder:1',
              env: [
                { name: 'MESSAGE', value: `hello from ${name}` },
                { name: 'EXIT_CODE', value: String(exitCode) },
              ],
            },
          ],
        },
      },
    },
  });

  const condition = (name: string) => () => {
    const status = fake.object('Job', namespace, name)?.['status'] as
      { conditions?: { type: string; status: string }[] } | undefined;
    return status?.conditions?.find(
      (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    )?.type;
  };

  it('runs a pod to completion and serves its logs', async () => {
    await batch.createNamespacedJob({ namespace, body: job('build-1', 0) });
    await fake.until(() => condition('build-1')() !== undefined, 'the job to finish');
    const read = await batch.readNamespacedJob({ name: 'build-1', namespace });
    expect(read.status?.succeeded).toBe(1);
    expect(condition('build-1')()).toBe('Complete');
    const pods = await core.listNamespacedPod({
      namespace,
      labelSelector: 'batch.kubernetes.io/job-name=build-1',
    });
    expect(pods.items).toHaveLength(1);
    expect(pods.items[0]?.status?.phase).toBe('Succeeded');
    expect(
      await core.readNamespacedPodLog({ name: pods.items[0]!.metadata!.name!, namespace }),
    ).toBe('hello from build-1\n');
  });

  it('retries a failing pod up to backoffLimit, then fails the Job', async () => {
    await batch.createNamespacedJob({ namespace, body: job('build-2', 3, 1) });
    await fake.until(() => condition('build-2')() !== undefined, 'the job to finish');
    const read = await batch.readNamespacedJob({ name: 'build-2', namespace });
    expect(condition('build-2')()).toBe('Failed');
    expect(read.status?.failed).toBe(2);
    const pods = await core.listNamespacedPod({ namespace, labelSelector: 'job-name=build-2' });
    expect(
      pods.items.map((p) => p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode),
    ).toEqual([3, 3]);
  });

  it('refuses restartPolicy Always (422)', async () => {
    const body = job('build-3', 0);
    body.spec!.template.spec!.restartPolicy = 'Always';
    expect(await code(batch.createNamespacedJob({ namespace, body }))).toBe(422);
  });

  it('orphans the pods of a deleted Job unless propagationPolicy says otherwise', async () => {
    await batch.createNamespacedJob({ namespace, body: job('kept', 0) });
    await batch.createNamespacedJob({ namespace, body: job('gone', 0) });
    await fake.until(
      () => condition('kept')() !== undefined && condition('gone')() !== undefined,
      'both jobs to finish',
    );
    await batch.deleteNamespacedJob({ name: 'kept', namespace });
    await batch.deleteNamespacedJob({ name: 'gone', namespace, propagationPolicy: 'Background' });
    await fake.until(() => fake.objects('Pod', namespace).length === 1, 'one pod left');
    const [left] = fake.objects('Pod', namespace) as k8s.V1Pod[];
    expect(left?.metadata?.labels?.['job-name']).toBe('kept');
    expect(left?.metadata?.ownerReferences).toBeUndefined();
  });
});
