import { Queue, UnrecoverableError, type Worker } from 'bullmq';
import { isolatedRedis, startRedisServer, type IsolatedRedis } from '@skiff/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ComputeQueue,
  computeJobId,
  computeQueueName,
  startComputeWorker,
  type ComputeJob,
  type ComputeJobHandlers,
  type JobProgress,
} from './index.js';

// Real BullMQ on the real Redis of the test run; each test has its own key prefix.
describe('compute queue', () => {
  let redis: IsolatedRedis;
  let queue: ComputeQueue;
  let worker: Worker | undefined;
  const target = { workspace: 'team-a', compute: 'local' };

  beforeEach(async () => {
    redis = isolatedRedis();
    queue = await ComputeQueue.connect({ redisUrl: redis.url, prefix: bullPrefix(), ...target });
  });
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
    await queue.close();
    await redis.cleanup();
  });

  const bullPrefix = () => redis.prefix.slice(0, -1);
  const deploy: ComputeJob = {
    kind: 'deploy',
    workspace: 'team-a',
    service: 'iris',
    generation: 3,
  };

  function handlersRecording(seen: ComputeJob[], progress: JobProgress[] = []): ComputeJobHandlers {
    return {
      deploy: async (job, context) => {
        seen.push(job);
        await context.progress({ step: 'WORKLOAD_APPLIED', message: 'applied' });
        progress.push({ step: 'WORKLOAD_APPLIED', message: 'applied' });
        return { applied: job.generation };
      },
      delete: (job) => Promise.resolve(seen.push(job)),
      scale: (job) => Promise.resolve(seen.push(job)),
    };
  }

  it('delivers a deploy job to a worker, with progress and the result', async () => {
    const seen: ComputeJob[] = [];
    const events = queue.events();
    await events.waitUntilReady();
    const progressSeen: unknown[] = [];
    events.on('progress', ({ data }) => progressSeen.push(data));
    const completed = new Promise<unknown>((resolve) =>
      events.on('completed', ({ returnvalue }) => resolve(returnvalue)),
    );

    const result = await queue.enqueue(deploy);
    expect(result).toEqual({ jobId: 'deploy.team-a.iris.3', created: true });
    worker = startComputeWorker(
      { redisUrl: redis.url, prefix: bullPrefix(), ...target },
      handlersRecording(seen),
    );

    expect(await completed).toEqual({ applied: 3 });
    expect(seen).toEqual([deploy]);
    expect(progressSeen).toEqual([{ step: 'WORKLOAD_APPLIED', message: 'applied' }]);
    await events.close();
  });

  it('is idempotent: the same kind, service and generation make one job', async () => {
    expect((await queue.enqueue(deploy)).created).toBe(true);
    expect((await queue.enqueue({ ...deploy })).created).toBe(false);
    expect((await queue.enqueue({ ...deploy, generation: 4 })).created).toBe(true);
    expect(await queue.pendingCount()).toBe(2);
  });

  it('rejects an invalid payload before it reaches Redis', async () => {
    await expect(queue.enqueue({ ...deploy, generation: 0 })).rejects.toThrow(/generation/);
    expect(await queue.pendingCount()).toBe(0);
  });

  it('fails a malformed job without retrying it and names the bad field', async () => {
    // A producer that bypasses validation (an older control plane, a hand-made job).
    const raw = new Queue(computeQueueName('team-a', 'local'), {
      connection: { url: redis.url },
      prefix: bullPrefix(),
    });
    const job = await raw.add(
      'deploy',
      { kind: 'deploy', workspace: 'team-a', service: 'iris' },
      { attempts: 5 },
    );
    const seen: ComputeJob[] = [];
    worker = startComputeWorker(
      { redisUrl: redis.url, prefix: bullPrefix(), ...target },
      handlersRecording(seen),
    );
    const failed = await new Promise<string>((resolve) =>
      worker!.on('failed', (_job, error) => resolve(error.message)),
    );
    expect(failed).toMatch(/generation/);
    const stored = await raw.getJob(job.id!);
    expect(stored?.attemptsMade).toBe(1);
    expect(await stored?.getState()).toBe('failed');
    expect(seen).toEqual([]);
    await raw.close();
  });

  it('resumes events after a stream id, so events sent while nobody listened are not lost', async () => {
    expect(await queue.lastEventId()).toBe('0-0');
    const first = queue.events();
    await first.waitUntilReady();
    const seenFirst: string[] = [];
    const firstCompleted = new Promise<string>((resolve) =>
      first.on('completed', ({ jobId }, id) => {
        seenFirst.push(jobId);
        resolve(id);
      }),
    );
    await queue.enqueue(deploy);
    worker = startComputeWorker(
      { redisUrl: redis.url, prefix: bullPrefix(), ...target },
      handlersRecording([]),
    );
    const cursor = await firstCompleted;
    await first.close();
    // Nobody listens while generation 4 is deployed.
    await queue.enqueue({ ...deploy, generation: 4 });
    while ((await queue.status('deploy.team-a.iris.4'))?.state !== 'completed') {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await queue.lastEventId()).not.toBe(cursor);
    const resumed = queue.events({ after: cursor });
    const seen = new Promise<string>((resolve) =>
      resumed.on('completed', ({ jobId }) => resolve(jobId)),
    );
    expect(await seen).toBe('deploy.team-a.iris.4');
    expect(seenFirst).toEqual(['deploy.team-a.iris.3']);
    await resumed.close();
  });

  it('tells the state and result of a job, and retries a job that failed for good', async () => {
    expect(await queue.status('deploy.team-a.iris.3')).toBeUndefined();
    await queue.enqueue(deploy);
    expect(await queue.status('deploy.team-a.iris.3')).toEqual({ state: 'pending' });
    let fail = true;
    worker = startComputeWorker(
      { redisUrl: redis.url, prefix: bullPrefix(), ...target },
      {
        deploy: () => {
          if (fail) throw new UnrecoverableError('EntryScriptMissing: score.py not found');
          return Promise.resolve({ readyReplicas: 1 });
        },
        delete: () => Promise.resolve(),
        scale: () => Promise.resolve(),
      },
    );
    const until = async (state: string) => {
      while ((await queue.status('deploy.team-a.iris.3'))?.state !== state) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return queue.status('deploy.team-a.iris.3');
    };
    expect(await until('failed')).toEqual({
      state: 'failed',
      reason: 'EntryScriptMissing: score.py not found',
    });
    fail = false;
    expect(await queue.retryFailed('deploy.team-a.iris.3')).toBe(true);
    expect(await until('completed')).toEqual({ state: 'completed', result: { readyReplicas: 1 } });
    expect(await queue.retryFailed('deploy.team-a.iris.3')).toBe(false);
  });

  it('reports connection errors of the events connection, never leaving one unhandled', async () => {
    const own = await startRedisServer();
    const unhandled = vi.spyOn(console, 'error');
    const errors: Error[] = [];
    const ownQueue = await ComputeQueue.connect({ redisUrl: own.url, ...target });
    const events = ownQueue.events({ onError: (error) => errors.push(error) });
    await events.waitUntilReady();
    await own.crash();
    for (let i = 0; i < 100 && errors.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await ownQueue.closeEvents(events);
    await ownQueue.close();
    const printed = unhandled.mock.calls.map((args) => args.join(' '));
    unhandled.mockRestore();
    expect(printed.filter((line) => line.includes('Unhandled error event'))).toEqual([]);
    expect(errors[0]?.message).toMatch(/ECONNREFUSED|ECONNRESET|Connection is closed/);
  });

  it('gives every scale decision its own job, even one that repeats a count (1→3→1→3)', async () => {
    const decisions = [1, 3, 1, 3].map((replicas, index) => ({
      kind: 'scale' as const,
      workspace: 'w',
      service: 'repeat',
      generation: 1,
      replicas,
      reason: 'test',
      sequence: index + 1,
    }));
    const results = [];
    for (const decision of decisions) results.push(await queue.enqueue(decision));
    expect(results.map((result) => result.created)).toEqual([true, true, true, true]);
    expect(new Set(decisions.map(computeJobId)).size).toBe(4);
  });

  it('uses ids and queue names BullMQ accepts', () => {
    expect(
      computeJobId({
        kind: 'scale',
        workspace: 'w',
        service: 's',
        generation: 2,
        replicas: 5,
        reason: 'r',
        sequence: 7,
      }),
    ).toBe('scale.w.s.2.s7');
    expect(computeQueueName('w', 'c')).not.toContain(':');
  });
});
