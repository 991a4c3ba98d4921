import { WebserviceSpec } from '@skiff/proto';
import { computeJobId, type ComputeJob } from '@skiff/queue';
import { Store, type ReplicaReport } from '@skiff/store';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { minimalSpec } from '../test-support/harness.js';
import { AutoscalerLoop } from './loop.js';

// The autoscaler loop on a real Redis store, with its clock in the test's hands: demand comes
// from agent replica reports and router load reports written to the store, decisions go to
// the store and to a list of enqueued jobs.
describe('AutoscalerLoop', () => {
  let redis: IsolatedRedis;
  let store: Store;
  let now: number;
  let jobs: { compute: string; job: ComputeJob }[];
  let loops: AutoscalerLoop[];
  const HOUR = 3_600_000;

  const spec = (deploymentConfig: Record<string, unknown>) =>
    WebserviceSpec.toJSON({
      ...minimalSpec(),
      deploymentConfig: {
        ...minimalSpec().deploymentConfig!,
        numReplicas: undefined,
        autoScaler: {
          autoscaleEnabled: true,
          minReplicas: 1,
          maxReplicas: 4,
          refreshPeriod: { seconds: 1, nanos: 0 },
          targetUtilization: 70,
        },
        maxConcurrentRequestsPerContainer: 1,
        containerResourceRequirements: { cpu: 0.5, memoryInGb: 0.5, gpu: 0, fpga: 0 },
        ...deploymentConfig,
      },
    });

  async function deploy(name: string, specJson: unknown, desired = 1): Promise<void> {
    const time = new Date(now).toISOString();
    await store.services.mutate('team-a', name, () => ({
      revision: 0,
      workspace: 'team-a',
      name,
      compute: 'local',
      spec: specJson,
      specHash: name,
      generation: 1,
      appliedGeneration: 1,
      state: 'healthy',
      authMode: 'none',
      environmentHash: 'sha256:v1:x',
      desiredReplicas: desired,
      readyReplicas: desired,
      createdAt: time,
      updatedAt: time,
      updatedBy: 'test',
    }));
  }

  /** The agent reports `ready` replicas of `service`, `inFlight` requests spread over them. */
  async function agentReports(service: string, ready: number, inFlight: number) {
    const replicas: ReplicaReport[] = Array.from({ length: ready }, (_, index) => ({
      workspace: 'team-a',
      service,
      generation: 1,
      replicaId: `${service}-${index}`,
      address: `127.0.0.1:${40_000 + index}`,
      phase: 'ready',
      inFlight: index < inFlight ? 1 : 0,
      maxConcurrent: 1,
      nodeName: 'node-1',
      startTime: new Date(now).toISOString(),
      restartCount: 0,
      message: '',
    }));
    await store.agents.saveReplicas('team-a', 'local', 'node-1', replicas, HOUR);
  }

  const routerQueues = (service: string, queued: number) =>
    store.routing.saveLoad(
      'team-a',
      'local',
      'router-1',
      [{ workspace: 'team-a', service, queued, inFlight: 0 }],
      HOUR,
    );

  function startLoop(): AutoscalerLoop {
    const loop = new AutoscalerLoop({
      store,
      queues: {
        enqueue: (compute, job) => Promise.resolve(void jobs.push({ compute, job })),
      },
      log: pino({ level: 'silent' }),
      agentReportTtlMs: 3_000,
      tickMs: 250,
      now: () => now,
    });
    loops.push(loop);
    return loop;
  }

  /** Ticks `loop` every 250 ms of the test clock for `ms`. */
  async function run(loop: AutoscalerLoop, ms: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed += 250) {
      now += 250;
      await loop.tick();
    }
  }

  beforeAll(async () => {
    redis = isolatedRedis();
    store = await Store.connect({ url: redis.url, keyPrefix: redis.prefix });
  });
  afterAll(async () => {
    await store.close();
    await redis.cleanup();
  });
  beforeEach(async () => {
    now = Date.parse('2026-12-02T10:00:00Z');
    jobs = [];
    loops = [];
    await redis.client.flushdb();
    await store.workspaces.create({
      name: 'team-a',
      description: '',
      defaultNamespace: '',
      createdAt: new Date(now).toISOString(),
    });
    await store.agents.heartbeat({
      workspace: 'team-a',
      compute: 'local',
      nodeName: 'node-1',
      agentVersion: 'test',
      capacity: { cpu: 0, memoryInGB: 0, gpu: 0, fpga: 0 },
      labels: {},
      registeredAt: new Date(now).toISOString(),
      lastSeen: new Date(now).toISOString(),
    });
  });
  afterEach(async () => {
    for (const loop of loops) await loop.stop();
  });

  it('scales 1→3→1→3 with a new sequence per decision, down only after the 60 s window', async () => {
    await deploy('iris', spec({}));
    const loop = startLoop();
    // 2 in flight on one replica: 2 / (1 × 70%) wants 3.
    await agentReports('iris', 1, 1);
    await routerQueues('iris', 1);
    await run(loop, 1_500);
    expect(jobs.map(({ job }) => job.kind === 'scale' && [job.replicas, job.sequence])).toEqual([
      [3, 1],
    ]);
    const up = await store.services.get('team-a', 'iris');
    expect(up).toMatchObject({ desiredReplicas: 3, scaleSequence: 1 });
    expect(up?.lastScale).toMatchObject({ replicas: 3, kind: 'up', sequence: 1 });
    expect(up?.lastScale?.reason).toMatch(/scaling up from 1 to 3/);

    // Demand gone: nothing for 59 s, then down to 1.
    await agentReports('iris', 3, 0);
    await routerQueues('iris', 0);
    await run(loop, 59_000);
    expect(jobs).toHaveLength(1);
    await run(loop, 3_000);
    expect(jobs.map(({ job }) => job.kind === 'scale' && [job.replicas, job.sequence])).toEqual([
      [3, 1],
      [1, 2],
    ]);

    await agentReports('iris', 1, 1);
    await routerQueues('iris', 1);
    await run(loop, 1_500);
    const decided = jobs.map(({ job }) => job);
    expect(decided.map((job) => job.kind === 'scale' && [job.replicas, job.sequence])).toEqual([
      [3, 1],
      [1, 2],
      [3, 3],
    ]);
    // Every decision is its own job: the second 3 does not collide with the first.
    expect(new Set(decided.map(computeJobId)).size).toBe(3);
    expect(jobs.every(({ compute }) => compute === 'local')).toBe(true);
  });

  it('exports replica counts per service and drops them once the service is gone', async () => {
    await deploy('iris', spec({}));
    const registry = new Registry();
    const loop = new AutoscalerLoop({
      store,
      queues: { enqueue: () => Promise.resolve() },
      log: pino({ level: 'silent' }),
      registry,
      agentReportTtlMs: 3_000,
      tickMs: 250,
      now: () => now,
    });
    loops.push(loop);
    await agentReports('iris', 1, 0);
    await run(loop, 500);
    const series = async () =>
      (await registry.getSingleMetric('skiff_service_replicas')?.get())?.values ?? [];
    expect(await series()).toContainEqual({
      value: 1,
      labels: { workspace: 'team-a', service: 'iris', count: 'ready' },
    });
    await store.services.purge('team-a', 'iris', 1);
    await run(loop, 250);
    expect(await series()).toEqual([]);
  });

  it('never scales a service with a fixed replica count', async () => {
    await deploy('fixed', spec({ numReplicas: 2 }), 2);
    const loop = startLoop();
    await agentReports('fixed', 2, 2);
    await routerQueues('fixed', 50);
    await run(loop, 3_000);
    expect(jobs).toEqual([]);
    expect((await store.services.get('team-a', 'fixed'))?.desiredReplicas).toBe(2);
  });

  it('stops a scale-up at what the agents can place, and says why', async () => {
    // 1.5 cores: another service holds 1 × 0.5, so 2 replicas of 0.5 fit.
    await store.agents.heartbeat({
      workspace: 'team-a',
      compute: 'local',
      nodeName: 'node-1',
      agentVersion: 'test',
      capacity: { cpu: 1.5, memoryInGB: 64, gpu: 0, fpga: 0 },
      labels: {},
      registeredAt: new Date(now).toISOString(),
      lastSeen: new Date(now + 2_000).toISOString(),
    });
    await deploy('other', spec({ numReplicas: 1 }), 1);
    await deploy('iris', spec({}));
    const loop = startLoop();
    await agentReports('iris', 1, 1);
    await routerQueues('iris', 10);
    await run(loop, 1_500);
    const record = await store.services.get('team-a', 'iris');
    expect(record?.desiredReplicas).toBe(2);
    expect(record?.lastScale?.reason).toMatch(/only 2 can be placed \(cpu: 1\.5 on 1 node/);
  });

  it('lets one control plane decide at a time, and a new one resumes the last decision', async () => {
    await deploy('iris', spec({}));
    const first = startLoop();
    const second = startLoop();
    await agentReports('iris', 1, 1);
    await routerQueues('iris', 1);
    for (let elapsed = 0; elapsed < 1_500; elapsed += 250) {
      now += 250;
      await first.tick();
      await second.tick();
    }
    // One decision, not one per control plane.
    expect(jobs.map(({ job }) => job.kind === 'scale' && job.sequence)).toEqual([1]);

    // The first one stops (its lease runs out); the second takes over and re-enqueues the
    // latest decision, in case the first stored it and died before enqueueing.
    await redis.client.del('lease:autoscaler');
    jobs.length = 0;
    now += 250;
    await second.tick();
    expect(jobs.map(({ job }) => job.kind === 'scale' && [job.replicas, job.sequence])).toEqual([
      [3, 1],
    ]);
  });

  it('keeps a decision that could not be enqueued and sends it on the next tick', async () => {
    await deploy('iris', spec({}));
    let failing = true;
    const loop = new AutoscalerLoop({
      store,
      queues: {
        enqueue: (compute, job) => {
          if (failing) return Promise.reject(new Error('queue unavailable'));
          jobs.push({ compute, job });
          return Promise.resolve();
        },
      },
      log: pino({ level: 'silent' }),
      agentReportTtlMs: 3_000,
      tickMs: 250,
      now: () => now,
    });
    loops.push(loop);
    await agentReports('iris', 1, 1);
    await routerQueues('iris', 1);
    for (let elapsed = 0; elapsed < 1_500; elapsed += 250) {
      now += 250;
      await loop.tick().catch(() => undefined);
    }
    expect(jobs).toEqual([]);
    expect((await store.services.get('team-a', 'iris'))?.desiredReplicas).toBe(3);
    failing = false;
    now += 250;
    await loop.tick();
    expect(jobs.map(({ job }) => job.kind === 'scale' && [job.replicas, job.sequence])).toEqual([
      [3, 1],
    ]);
  });
});
