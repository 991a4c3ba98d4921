// KubernetesDriver against the Kubernetes fake of @skiff/testing, through the real
// @kubernetes/client-node, with a real HTTP process per pod.
import { NotFoundError, FailedPreconditionError } from '@skiff/errors';
import {
  httpPodRunner,
  startKubernetesFake,
  type KubernetesFake,
  type KubernetesJson,
} from '@skiff/testing';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Replica, ReplicaLogLine, ServiceKey, WorkloadSpec } from '../driver.js';
import { KubernetesDriver } from './driver.js';

/** A complete WorkloadSpec with SPEC.md's defaults, for tests; `overrides` win. */
function workloadSpec(overrides: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return {
    workspace: 'team-a',
    service: 'iris',
    generation: 1,
    replicas: 2,
    namespace: 'skiff',
    environmentHash: `sha256:${'a'.repeat(64)}`,
    image: `registry.invalid/team-a/envs:v1-${'a'.repeat(64)}`,
    entryScript: 'score.py',
    runtime: 'python',
    snapshotDigest: `sha256:${'b'.repeat(64)}`,
    models: [{ name: 'iris-model', version: 3, digest: `sha256:${'c'.repeat(64)}` }],
    environmentVariables: { GREETING: 'hello' },
    resources: { cpu: 0.1, memoryInGB: 0.5, gpu: 0, fpga: 0 },
    liveness: {
      periodSeconds: 10,
      initialDelaySeconds: 310,
      timeoutSeconds: 2,
      successThreshold: 1,
      failureThreshold: 3,
    },
    maxConcurrentRequests: 1,
    scoringTimeoutMs: 60_000,
    dataCollection: false,
    ...overrides,
  };
}

const NS = 'skiff';
const KEY: ServiceKey = { workspace: 'team-a', service: 'iris' };
const WAIT = { timeout: 10_000, interval: 20 };

let fake: KubernetesFake;
let driver: KubernetesDriver;

async function start(options: { nodeName?: string; silenceMs?: number } = {}): Promise<void> {
  fake = await startKubernetesFake({
    namespaces: [NS],
    runner: httpPodRunner(),
    nodes: ['node-a', 'node-b'],
  });
  driver = await KubernetesDriver.connect({
    kubeConfig: fake.kubeConfig,
    namespaces: [NS],
    retryDelayMs: 20,
    ...(options.nodeName ? { nodeName: options.nodeName } : {}),
    ...(options.silenceMs ? { watchSilenceTimeoutMs: options.silenceMs } : {}),
  });
}

afterEach(async () => {
  await driver?.close();
  await fake?.close();
});

/** Waits until the service has `count` ready replicas and nothing else, returns them. */
async function readyReplicas(count: number, generation?: number): Promise<Replica[]> {
  let replicas: Replica[] = [];
  await vi.waitFor(async () => {
    replicas = await driver.listReplicas(KEY);
    expect(replicas.map((r) => r.phase)).toEqual(Array(count).fill('ready'));
    if (generation !== undefined)
      expect(replicas.every((r) => r.generation === generation)).toBe(true);
  }, WAIT);
  return replicas;
}

async function get(address: string, path = '/'): Promise<number> {
  return vi.waitFor(async () => (await fetch(`http://${address}${path}`)).status, WAIT);
}

describe('KubernetesDriver', () => {
  beforeEach(async () => {
    await start();
  });

  it('applies generation 1 with 2 replicas: pods become ready at addresses that answer', async () => {
    await driver.apply(workloadSpec({ replicas: 2 }));
    const replicas = await readyReplicas(2, 1);
    for (const replica of replicas) {
      expect(replica).toMatchObject({
        workspace: 'team-a',
        service: 'iris',
        maxConcurrent: 1,
        restartCount: 0,
        message: '',
      });
      expect(replica.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await get(replica.address)).toBe(200);
      expect(['node-a', 'node-b']).toContain(replica.nodeName);
    }
    expect(new Set(replicas.map((r) => r.nodeName)).size).toBe(2);
  });

  it('scales 2 → 3 → 1 through the scale subresource', async () => {
    await driver.apply(workloadSpec({ replicas: 2 }));
    await readyReplicas(2);
    await driver.scale(KEY, 3);
    await readyReplicas(3);
    await driver.scale(KEY, 1);
    await readyReplicas(1);
    const scales = fake.requests.filter(
      (r) => r.resource === 'deployments' && r.subresource === 'scale',
    );
    expect(scales.map((r) => [r.verb, r.query['fieldManager']])).toEqual([
      ['patch', 'skiff-agent'],
      ['patch', 'skiff-agent'],
    ]);
    expect(fake.accepted.filter((m) => m.operation === 'scale').map((m) => m.body)).toEqual([
      { spec: { replicas: 3 } },
      { spec: { replicas: 1 } },
    ]);
  });

  it('rolls generation 2 over: new replicas are ready before any old one terminates', async () => {
    await driver.apply(workloadSpec({ replicas: 2 }));
    const old = await readyReplicas(2, 1);
    const from = fake.events.length;
    await driver.apply(
      workloadSpec({ replicas: 2, generation: 2, environmentVariables: { GREETING: 'hi' } }),
    );
    const next = await readyReplicas(2, 2);
    expect(next.map((r) => r.id).some((id) => old.some((o) => o.id === id))).toBe(false);
    // Replay the rollout: at every moment at least 2 ready, not terminating replicas.
    const pods = new Map<string, KubernetesJson>();
    for (const event of fake.events.slice(0, from)) {
      if (event.resource.kind !== 'Pod') continue;
      const name = String((event.object['metadata'] as { name: string }).name);
      if (event.type === 'DELETED') pods.delete(name);
      else pods.set(name, event.object);
    }
    const ready = (pod: KubernetesJson) =>
      !(pod['metadata'] as { deletionTimestamp?: string }).deletionTimestamp &&
      (
        (pod['status'] as { conditions?: { type: string; status: string }[] }).conditions ?? []
      ).some((c) => c.type === 'Ready' && c.status === 'True');
    let sawTermination = false;
    for (const event of fake.events.slice(from)) {
      if (event.resource.kind !== 'Pod') continue;
      const name = String((event.object['metadata'] as { name: string }).name);
      if (event.type === 'DELETED') pods.delete(name);
      else pods.set(name, event.object);
      if ((event.object['metadata'] as { deletionTimestamp?: string }).deletionTimestamp)
        sawTermination = true;
      expect([...pods.values()].filter(ready).length).toBeGreaterThanOrEqual(2);
    }
    expect(sawTermination).toBe(true);
  });

  it('applies the running generation again as a replica-count change only', async () => {
    await driver.apply(workloadSpec({ replicas: 2 }));
    await readyReplicas(2);
    const before = fake.object(
      'Deployment',
      NS,
      (fake.objects('Deployment', NS)[0]!['metadata'] as { name: string }).name,
    );
    await driver.apply(workloadSpec({ replicas: 3 }));
    const pods = await readyReplicas(3, 1);
    const after = fake.objects('Deployment', NS)[0]!;
    const templateOf = (d: KubernetesJson | undefined) =>
      JSON.stringify((d?.['spec'] as { template: unknown }).template);
    expect(templateOf(after)).toBe(templateOf(before));
    expect(pods).toHaveLength(3);
  });

  it('deletes every object and replica of the service, and deleting again is fine', async () => {
    await driver.apply(workloadSpec({ replicas: 2 }));
    await driver.apply(workloadSpec({ service: 'other', replicas: 1 }));
    await readyReplicas(2);
    await driver.delete(KEY);
    await vi.waitFor(async () => expect(await driver.listReplicas(KEY)).toEqual([]), WAIT);
    const mine = (o: KubernetesJson) =>
      JSON.stringify(o['metadata']).includes('"skiff.dev/service":"iris"');
    for (const kind of ['Deployment', 'Service', 'Pod'])
      expect(fake.objects(kind, NS).filter(mine)).toEqual([]);
    expect(fake.objects('Deployment', NS)).toHaveLength(1); // the other service stays
    await driver.delete(KEY);
    await expect(driver.scale(KEY, 2)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('sends only schema-valid manifests, by server-side apply with one field manager and strict validation', async () => {
    await driver.apply(workloadSpec({ replicas: 1 }));
    await driver.apply(
      workloadSpec({
        replicas: 1,
        generation: 2,
        resources: { cpu: 1, memoryInGB: 2, gpu: 0, fpga: 0 },
      }),
    );
    await driver.scale(KEY, 2);
    const manifests = fake.accepted.filter((m) => m.operation !== 'scale');
    expect(manifests.map((m) => m.kind)).toEqual([
      'Service',
      'Deployment',
      'Service',
      'Deployment',
    ]);
    for (const manifest of manifests) {
      const model = manifest.kind === 'Deployment' ? Deployment : Service;
      expect(() => new model(manifest.body as never).validate()).not.toThrow();
      expect(manifest.operation).toBe('apply');
      expect(manifest.fieldManager).toBe('skiff-agent');
    }
    const writes = fake.requests.filter((r) => r.verb === 'patch' && r.subresource === '');
    expect(
      writes.every(
        (r) =>
          r.query['fieldValidation'] === 'Strict' &&
          r.contentType === 'application/apply-patch+yaml',
      ),
    ).toBe(true);
    expect(fake.requests.some((r) => r.apiGroup === 'autoscaling')).toBe(false);
  });

  it('refuses a namespace it does not manage, and turns a 422 into an InvalidArgumentError', async () => {
    await expect(driver.apply(workloadSpec({ namespace: 'elsewhere' }))).rejects.toBeInstanceOf(
      FailedPreconditionError,
    );
    const invalid = driver.apply(workloadSpec({ environmentVariables: { 'BAD=NAME': 'x' } }));
    await expect(invalid).rejects.toThrow(
      /applying team-a\/iris generation 1 in skiff: .*is invalid/,
    );
  });

  it('reports a replica whose process died as restarted, with the reason', async () => {
    await driver.apply(workloadSpec({ replicas: 1 }));
    const [replica] = await readyReplicas(1);
    process.kill(fake.containerProcess(NS, replica!.id)!.pid!, 'SIGKILL');
    await vi.waitFor(async () => {
      const [now] = await driver.listReplicas(KEY);
      expect(now?.restartCount).toBe(1);
    }, WAIT);
    const seen = fake.events.filter((e) => e.resource.kind === 'Pod').map((e) => e.object);
    const crashed = seen.find((p) => JSON.stringify(p).includes('CrashLoopBackOff'));
    expect(crashed).toBeDefined();
  });

  it('tails and follows the replicas logs', async () => {
    await driver.apply(workloadSpec({ replicas: 2 }));
    const replicas = await readyReplicas(2);
    let tail: ReplicaLogLine[] = [];
    await vi.waitFor(async () => {
      tail = await driver.tailLogs(KEY, 10);
      expect(tail.filter((l) => l.text.startsWith('listening on '))).toHaveLength(2);
    }, WAIT);
    expect(new Set(tail.map((l) => l.replicaId))).toEqual(new Set(replicas.map((r) => r.id)));
    expect(tail.every((l) => l.time instanceof Date && !Number.isNaN(l.time.getTime()))).toBe(true);
    expect(await driver.tailLogs(KEY, 1)).toHaveLength(1);

    const followed: { key: ServiceKey; line: ReplicaLogLine }[] = [];
    const stop = driver.followLogs((key, lines) =>
      followed.push(...lines.map((line) => ({ key, line }))),
    );
    // Lines written before the follow started are not delivered; new ones are, once.
    await vi.waitFor(async () => {
      await fetch(`http://${replicas[0]!.address}/log`, { method: 'POST', body: 'probe' });
      expect(followed.some((f) => f.line.text === 'probe')).toBe(true);
    }, WAIT);
    await fetch(`http://${replicas[1]!.address}/log`, { method: 'POST', body: 'from the second' });
    await vi.waitFor(
      () => expect(followed.some((f) => f.line.text === 'from the second')).toBe(true),
      WAIT,
    );
    stop();
    expect(followed.some((f) => f.line.text.startsWith('listening on'))).toBe(false);
    expect(followed.filter((f) => f.line.text === 'from the second')).toHaveLength(1);
    expect(followed[0]?.key).toEqual(KEY);
  });
});

describe('replica watch', () => {
  it('relists after a forced 410 and keeps the view current', async () => {
    await start();
    await driver.apply(workloadSpec({ replicas: 1 }));
    await readyReplicas(1);
    let view: Replica[] = [];
    const stop = await driver.watchReplicas((replicas) => (view = replicas));
    await vi.waitFor(() => expect(view.map((r) => r.phase)).toEqual(['ready']), WAIT);
    const before = fake.requests.length;
    // The watch misses the scale-up, then its version falls out of the history: resuming from
    // it gets 410 Gone, and only a relist can show the new replica.
    fake.muteWatches();
    await driver.scale(KEY, 2);
    await fake.until(() => fake.objects('Pod', NS).length === 2, 'the second pod');
    fake.compactHistory();
    fake.closeWatches();
    await vi.waitFor(() => expect(view.map((r) => r.phase)).toEqual(['ready', 'ready']), WAIT);
    const after = fake.requests.slice(before).filter((r) => r.resource === 'pods');
    expect(after.map((r) => r.verb).slice(-3)).toEqual(['watch', 'list', 'watch']); // 410, relist, watch
    stop();
  });

  it('restarts a watch that went silent', async () => {
    await start({ silenceMs: 300 });
    await driver.apply(workloadSpec({ replicas: 1 }));
    let view: Replica[] = [];
    const stop = await driver.watchReplicas((replicas) => (view = replicas));
    await vi.waitFor(() => expect(view.map((r) => r.phase)).toEqual(['ready']), WAIT);
    const watchesBefore = fake.requests.filter((r) => r.verb === 'watch').length;
    fake.muteWatches();
    await driver.scale(KEY, 2);
    await vi.waitFor(() => expect(view.map((r) => r.phase)).toEqual(['ready', 'ready']), WAIT);
    expect(fake.requests.filter((r) => r.verb === 'watch').length).toBeGreaterThan(watchesBefore);
    stop();
  });

  it('sees only its own node when a node name is set', async () => {
    await start({ nodeName: 'node-b' });
    await driver.apply(workloadSpec({ replicas: 4 }));
    await readyReplicas(4);
    let view: Replica[] = [];
    const stop = await driver.watchReplicas((replicas) => (view = replicas));
    await vi.waitFor(() => expect(view.length).toBe(2), WAIT);
    expect(view.every((r) => r.nodeName === 'node-b')).toBe(true);
    expect(
      fake.requests
        .filter((r) => r.verb === 'watch')
        .every((r) => r.query['fieldSelector'] === 'spec.nodeName=node-b'),
    ).toBe(true);
    stop();
  });
});
