import { Store, type ServiceRecord } from '@skiff/store';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { pino } from 'pino';
import { UnavailableError } from '@skiff/errors';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeploymentTracker, parseJobId } from './tracker.js';

const base: ServiceRecord = {
  revision: 0,
  workspace: 'team-a',
  name: 'iris',
  compute: 'local',
  spec: {},
  specHash: 'h',
  generation: 3,
  appliedGeneration: 1,
  state: 'transitioning',
  authMode: 'key',
  environmentHash: '',
  desiredReplicas: 2,
  readyReplicas: 0,
  createdAt: '2026-11-26T00:00:00Z',
  updatedAt: '2026-11-26T00:00:00Z',
  updatedBy: 'x',
};

describe('DeploymentTracker', () => {
  let redis: IsolatedRedis;
  let store: Store;
  let tracker: DeploymentTracker;
  let eventId = 0;
  const event = (
    kind: 'completed' | 'failed' | 'progress',
    jobId: string,
    extra: Record<string, unknown> = {},
  ) =>
    tracker.onJobEvent('team-a', 'local', {
      kind,
      jobId,
      eventId: String(++eventId),
      result: undefined,
      data: undefined,
      reason: '',
      ...extra,
    } as never);

  beforeEach(async () => {
    redis = isolatedRedis();
    store = await Store.connect({ url: redis.url, keyPrefix: redis.prefix });
    tracker = new DeploymentTracker(store, pino({ level: 'silent' }), { retryDelaysMs: [10, 10] });
    await store.services.mutate('team-a', 'iris', () => ({ ...base }));
  });
  afterEach(async () => {
    await store.close();
    await redis.cleanup();
  });

  it('applies the current generation: Healthy, applied, ready replicas from the report', async () => {
    await event('completed', 'deploy.team-a.iris.3', {
      result: { readyReplicas: 2, desiredReplicas: 2 },
    });
    const record = await store.services.require('team-a', 'iris');
    expect([record.state, record.appliedGeneration, record.readyReplicas]).toEqual([
      'healthy',
      3,
      2,
    ]);
  });

  it('lets an older generation finishing late change nothing', async () => {
    await event('completed', 'deploy.team-a.iris.3', { result: { readyReplicas: 2 } });
    await event('completed', 'deploy.team-a.iris.2', { result: { readyReplicas: 1 } });
    await event('failed', 'deploy.team-a.iris.1', { reason: 'EntryScriptInitFailed: boom' });
    const record = await store.services.require('team-a', 'iris');
    expect([record.state, record.appliedGeneration, record.readyReplicas, record.error]).toEqual([
      'healthy',
      3,
      2,
      undefined,
    ]);
  });

  it('records an older generation applied before the current one without touching the state', async () => {
    await event('completed', 'deploy.team-a.iris.2', { result: { readyReplicas: 1 } });
    const record = await store.services.require('team-a', 'iris');
    expect([record.state, record.appliedGeneration]).toEqual(['transitioning', 2]);
  });

  it('fails the current generation with the reason and the replica logs in the event', async () => {
    await store.logs.append('team-a', 'iris', [
      {
        time: '2026-11-26T00:00:01Z',
        replica: 'r0',
        stream: 'stderr',
        text: 'ImportError: no module named sklearn',
      },
    ]);
    await event('failed', 'deploy.team-a.iris.3', {
      reason: 'EntryScriptInitFailed: init() raised ImportError',
    });
    const record = await store.services.require('team-a', 'iris');
    expect(record.state).toBe('failed');
    expect(record.error).toEqual({
      code: 'EntryScriptInitFailed',
      message: 'EntryScriptInitFailed: init() raised ImportError',
    });
    const { events } = await store.events.read('team-a', 'iris', 3, 0);
    const last = events.at(-1)?.event as {
      step: string;
      terminal: boolean;
      failure: { replicaLogs: { text: string }[] };
    };
    expect([last.step, last.terminal]).toEqual(['FAILED', true]);
    expect(last.failure.replicaLogs.map((l) => l.text)).toEqual([
      'ImportError: no module named sklearn',
    ]);
  });

  it('handles each queue event once, however many control planes receive it', async () => {
    const other = new DeploymentTracker(store, pino({ level: 'silent' }));
    const payload = {
      kind: 'progress' as const,
      jobId: 'deploy.team-a.iris.3',
      eventId: 'same',
      data: { step: 'STARTED', message: 'agent took the job' },
    };
    await Promise.all([
      tracker.onJobEvent('team-a', 'local', payload),
      other.onJobEvent('team-a', 'local', payload),
    ]);
    expect((await store.events.read('team-a', 'iris', 3, 0)).events).toHaveLength(1);
  });

  it('applies an event whose first attempt failed after it arrived (a Redis blip), for every control plane', async () => {
    const other = new DeploymentTracker(store, pino({ level: 'silent' }), { retryDelaysMs: [10] });
    const mutate = vi.spyOn(store.services, 'mutate');
    mutate.mockRejectedValueOnce(new UnavailableError('the state store (Redis) is unreachable'));
    mutate.mockRejectedValueOnce(new UnavailableError('the state store (Redis) is unreachable'));
    const payload = {
      kind: 'completed' as const,
      jobId: 'deploy.team-a.iris.3',
      eventId: '1-1',
      result: { readyReplicas: 2, desiredReplicas: 2 },
    };
    await Promise.all([
      tracker.onJobEvent('team-a', 'local', payload),
      other.onJobEvent('team-a', 'local', payload),
    ]);
    mutate.mockRestore();
    const record = await store.services.require('team-a', 'iris');
    expect([record.state, record.appliedGeneration]).toEqual(['healthy', 3]);
    const { events } = await store.events.read('team-a', 'iris', 3, 0);
    expect(events.map((e) => e.event['step'])).toEqual(['HEALTHY']);
  });

  it('applies the events of one service in the order they arrived; late progress never undoes a completion', async () => {
    const progress = (ready: number, id: string) => ({
      kind: 'progress' as const,
      jobId: 'deploy.team-a.iris.3',
      eventId: id,
      data: {
        step: 'REPLICAS',
        message: `ready ${ready}/2`,
        readyReplicas: ready,
        desiredReplicas: 2,
      },
    });
    // Delivered as QueueEvents delivers them: one after another, nobody awaiting.
    const handled = [
      tracker.onJobEvent('team-a', 'local', progress(0, '1-1')),
      tracker.onJobEvent('team-a', 'local', progress(1, '1-2')),
      tracker.onJobEvent('team-a', 'local', {
        kind: 'completed',
        jobId: 'deploy.team-a.iris.3',
        eventId: '1-3',
        result: { readyReplicas: 2, desiredReplicas: 2 },
      }),
    ];
    await Promise.all(handled);
    // Another control plane handles its copy of a progress event after the completion.
    await new DeploymentTracker(store, pino({ level: 'silent' })).onJobEvent(
      'team-a',
      'local',
      progress(1, '1-9'),
    );
    const record = await store.services.require('team-a', 'iris');
    expect([record.state, record.readyReplicas]).toEqual(['healthy', 2]);
    const { events } = await store.events.read('team-a', 'iris', 3, 0);
    expect(events.map((e) => `${String(e.event['step'])} ${String(e.event['message'])}`)).toEqual([
      'REPLICAS ready 0/2',
      'REPLICAS ready 1/2',
      'HEALTHY Healthy: 2/2 replicas ready',
    ]);
  });

  it('records an outcome once, whether the event or the reconciler applies it first', async () => {
    await tracker.applyOutcome(
      { kind: 'deploy', workspace: 'team-a', service: 'iris', generation: 3 },
      { state: 'completed', result: { readyReplicas: 2, desiredReplicas: 2 } },
    );
    await event('completed', 'deploy.team-a.iris.3', {
      result: { readyReplicas: 2, desiredReplicas: 2 },
    });
    const { events } = await store.events.read('team-a', 'iris', 3, 0);
    expect(events.map((e) => e.event['step'])).toEqual(['HEALTHY']);
  });

  it('purges a deleted service once its delete job completes, and a late event re-creates nothing', async () => {
    await store.services.mutate('team-a', 'iris', (current) => ({
      ...current!,
      state: 'deleting',
    }));
    await event('completed', 'delete.team-a.iris.3');
    expect(await store.services.get('team-a', 'iris')).toBeUndefined();
    await event('progress', 'deploy.team-a.iris.3', {
      data: { step: 'REPLICAS', message: 'late', readyReplicas: 1, desiredReplicas: 2 },
    });
    expect(await store.redis.keys(`${redis.prefix}ws:team-a:svc:iris:*`)).toEqual([]);
  });

  it('parses only well-formed job ids', () => {
    expect(parseJobId('deploy.team-a.iris.12')).toEqual({
      kind: 'deploy',
      workspace: 'team-a',
      service: 'iris',
      generation: 12,
    });
    expect(parseJobId('scale.w.s.2.5')?.kind).toBe('scale');
    expect(parseJobId('deploy.team-a.iris')).toBeUndefined();
    expect(parseJobId('other.a.b.1')).toBeUndefined();
  });
});
