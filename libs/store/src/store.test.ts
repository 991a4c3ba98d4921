import { issueTeamCredential } from '@skiff/auth';
import { isErrorKind } from '@skiff/errors';
import { freePort, isolatedRedis, startRedisServer, type IsolatedRedis } from '@skiff/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mutateJson, Store, type ServiceRecord } from './index.js';

const now = '2026-11-26T10:00:00.000Z';

describe('Store on a real Redis', () => {
  let redis: IsolatedRedis;
  let store: Store;

  beforeEach(async () => {
    redis = isolatedRedis();
    store = await Store.connect({ url: redis.url, keyPrefix: redis.prefix });
  });
  afterEach(async () => {
    await store.close();
    await redis.cleanup();
  });

  it('creates a workspace once; a second create is ALREADY_EXISTS', async () => {
    const ws = { name: 'team-a', description: '', defaultNamespace: 'team-a', createdAt: now };
    expect((await store.workspaces.create(ws)).revision).toBe(1);
    const again = await store.workspaces.create(ws).catch((e: unknown) => e);
    expect(isErrorKind(again, 'already-exists')).toBe(true);
    expect((await store.workspaces.list()).map((w) => w.name)).toEqual(['team-a']);
  });

  it('resolves team credentials by id, scoped to their workspace list', async () => {
    const issued = issueTeamCredential({ workspace: 'team-a', role: 'deployer' });
    await store.credentials.save({ credential: issued.credential, createdBy: 'admin' });
    expect(await store.credentials.lookup(issued.credential.id)).toEqual(issued.credential);
    expect(await store.credentials.lookup('0'.repeat(24))).toBeUndefined();
    expect((await store.credentials.listByWorkspace('team-a')).length).toBe(1);
    expect(await store.credentials.listByWorkspace('team-b')).toEqual([]);
  });

  it('auto-increments model versions per name; version 0 is the latest', async () => {
    const model = {
      workspace: 'team-a',
      name: 'iris',
      digest: 'sha256:' + 'a'.repeat(64),
      sizeBytes: 10,
      files: [],
      description: '',
      tags: {},
      properties: {},
      createdAt: now,
      createdBy: 'x',
      deduplicated: false,
    };
    const v1 = await store.models.register(model);
    const v2 = await store.models.register(model);
    const other = await store.models.register({ ...model, name: 'other' });
    expect([v1.version, v2.version, other.version]).toEqual([1, 2, 1]);
    expect((await store.models.get('team-a', 'iris'))?.version).toBe(2);
    expect(await store.models.delete('team-a', 'iris', 2)).toBe(true);
    expect((await store.models.get('team-a', 'iris'))?.version).toBe(1);
    // A deleted number is never reused.
    expect((await store.models.register(model)).version).toBe(3);
    expect(await store.models.get('team-b', 'iris')).toBeUndefined();
  });

  const base: ServiceRecord = {
    revision: 0,
    workspace: 'team-a',
    name: 'iris',
    compute: 'local',
    spec: {},
    specHash: 'h',
    generation: 1,
    appliedGeneration: 0,
    state: 'transitioning',
    authMode: 'key',
    environmentHash: '',
    desiredReplicas: 1,
    readyReplicas: 0,
    createdAt: now,
    updatedAt: now,
    updatedBy: 'x',
  };
  const createService = (overrides: Partial<ServiceRecord> = {}) =>
    store.services.mutate('team-a', overrides.name ?? 'iris', () => ({ ...base, ...overrides }));

  it('serializes 100 concurrent writers of one service on its revision, losing none', async () => {
    await Promise.all(
      Array.from({ length: 100 }, () =>
        store.services.mutate('team-a', 'iris', (current) => ({
          ...(current ?? base),
          generation: (current?.generation ?? 0) + 1,
        })),
      ),
    );
    const stored = await store.services.require('team-a', 'iris');
    expect(stored.generation).toBe(100);
    expect(stored.revision).toBe(100);
  });

  it('gives up on endless contention with a retryable UnavailableError', async () => {
    await createService();
    const key = `ws:team-a:services`;
    let rival = 10;
    const outcome = await mutateJson<ServiceRecord>(
      store.redis,
      key,
      'iris',
      (current) => {
        // Another writer gets in before every compare-and-set (same connection: sent first).
        void store.redis.hset(key, 'iris', JSON.stringify({ ...current, revision: ++rival }));
        return { ...current!, readyReplicas: 1 };
      },
      { maxAttempts: 3 },
    ).catch((error: unknown) => error);
    expect(isErrorKind(outcome, 'unavailable')).toBe(true);
    expect((outcome as Error).message).toMatch(/too many concurrent changes to 'iris'/);
  });

  it('continues the generations of a purged service, so a new service of the name never reuses one', async () => {
    await createService({ generation: 3 });
    expect(await store.services.purge('team-a', 'iris', 2)).toBe(false); // deployed again since
    expect(await store.services.purge('team-a', 'iris', 3)).toBe(true);
    expect(await store.services.get('team-a', 'iris')).toBeUndefined();
    const seen: number[] = [];
    const next = await store.services.mutate('team-a', 'iris', (current, history) => {
      seen.push(history.lastGeneration);
      return { ...base, generation: (current?.generation ?? history.lastGeneration) + 1 };
    });
    expect(seen).toEqual([3]);
    expect(next?.generation).toBe(4);
    // Another name has its own history.
    await store.services.mutate('team-a', 'other', (_current, history) => {
      seen.push(history.lastGeneration);
      return { ...base, name: 'other' };
    });
    expect(seen).toEqual([3, 0]);
  });

  it('refuses a write whose history changed under it (a whole service came and went between read and write)', async () => {
    let attempts = 0;
    const created = await store.services.mutate('team-a', 'iris', (current, history) => {
      attempts++;
      if (attempts === 1) {
        // Between this read (no service, no history) and the compare-and-set, another
        // control plane creates the name at generation 5 and purges it (same connection, so
        // both land before the write).
        void store.redis.hset(
          'ws:team-a:services',
          'iris',
          JSON.stringify({ ...base, generation: 5, revision: 1 }),
        );
        void store.services.purge('team-a', 'iris', 5);
      }
      return { ...base, generation: (current?.generation ?? history.lastGeneration) + 1 };
    });
    expect(attempts).toBe(2);
    expect(created?.generation).toBe(6);
  });

  it('never re-creates the keys of a purged service for a late event', async () => {
    await createService();
    await store.events.append('team-a', 'iris', 1, { step: 'QUEUED' });
    await store.services.purge('team-a', 'iris', 1);
    expect(await store.events.append('team-a', 'iris', 1, { step: 'REPLICAS' })).toBe(0);
    const left = await store.redis.keys(`${redis.prefix}ws:team-a:svc:iris:*`);
    expect(left).toEqual([]);
  });

  it('records an event once per once-id, and drops late progress of an applied generation', async () => {
    await createService({ generation: 2, appliedGeneration: 1 });
    expect(await store.events.append('team-a', 'iris', 2, { step: 'A' }, { onceId: 'x' })).toBe(1);
    expect(await store.events.append('team-a', 'iris', 2, { step: 'A' }, { onceId: 'x' })).toBe(0);
    const late = { unappliedOnly: true };
    expect(await store.events.append('team-a', 'iris', 1, { step: 'REPLICAS' }, late)).toBe(0);
    expect(await store.events.append('team-a', 'iris', 2, { step: 'REPLICAS' }, late)).toBe(2);
    expect((await store.events.read('team-a', 'iris', 2, 0)).events).toHaveLength(2);
  });

  it('keeps sequence counters for the recent generations only', async () => {
    await createService();
    for (let generation = 1; generation <= 40; generation++) {
      await store.events.append('team-a', 'iris', generation, { step: 'QUEUED' });
    }
    const fields = await store.redis.hkeys('ws:team-a:svc:iris:event-seq');
    expect(fields.length).toBeLessThanOrEqual(9);
    expect(fields).toContain('40');
  });

  it('moves a queue event cursor only forward', async () => {
    expect(await store.cursors.get('q')).toBeUndefined();
    await store.cursors.advance('q', '1700000000000-5');
    await store.cursors.advance('q', '1700000000000-4');
    await store.cursors.advance('q', '999999999999-9');
    expect(await store.cursors.get('q')).toBe('1700000000000-5');
    await store.cursors.advance('q', '1700000000001-0');
    expect(await store.cursors.get('q')).toBe('1700000000001-0');
    await expect(store.cursors.advance('q', 'garbage')).rejects.toThrow(/stream id/);
  });

  it('keeps deployment events per generation, numbered from 1, readable from any point', async () => {
    await createService({ generation: 2 });
    await store.events.append('team-a', 'iris', 1, { step: 'QUEUED' });
    await store.events.append('team-a', 'iris', 2, { step: 'QUEUED' });
    await store.events.append('team-a', 'iris', 2, { step: 'HEALTHY' });
    const all = await store.events.read('team-a', 'iris', 2, 0);
    expect(all.events.map((e) => [e.sequence, e.event['step']])).toEqual([
      [1, 'QUEUED'],
      [2, 'HEALTHY'],
    ]);
    expect((await store.events.read('team-a', 'iris', 2, 1)).events.map((e) => e.sequence)).toEqual(
      [2],
    );
    await store.events.append('team-a', 'iris', 2, { step: 'EXTRA' });
    const newer = await store.events.read('team-a', 'iris', 2, 0, all.lastStreamId);
    expect(newer.events.map((e) => e.sequence)).toEqual([3]);
  });

  it('tails and follows service logs, per replica', async () => {
    const lines = Array.from({ length: 250 }, (_, i) => ({
      time: now,
      replica: i % 2 === 0 ? 'r0' : 'r1',
      stream: 'stdout' as const,
      text: `line ${i}`,
    }));
    await store.logs.append('team-a', 'iris', lines);
    const tail = await store.logs.tail('team-a', 'iris', 3);
    expect(tail.map((l) => l.text)).toEqual(['line 247', 'line 248', 'line 249']);
    const r0 = await store.logs.tail('team-a', 'iris', 2, 'r0');
    expect(r0.map((l) => l.text)).toEqual(['line 246', 'line 248']);
    const position = await store.logs.lastId('team-a', 'iris');
    await store.logs.append('team-a', 'iris', [
      { time: now, replica: 'r1', stream: 'stderr', text: 'late' },
    ]);
    expect(
      (await store.logs.after('team-a', 'iris', position)).map((l) => [l.text, l.stream]),
    ).toEqual([['late', 'stderr']]);
  });

  it('reads the audit log per workspace, resuming after an id', async () => {
    const event = {
      time: now,
      actor: 'c1',
      action: '/skiff.v1.X/Y',
      target: 't',
      outcome: 'OK',
      requestId: 'r',
    };
    await store.audit.append({ ...event, workspace: 'team-a' });
    await store.audit.append({ ...event, workspace: 'team-b' });
    await store.audit.append({ ...event, workspace: 'team-a', outcome: 'PERMISSION_DENIED' });
    const teamA = await store.audit.list({ workspace: 'team-a', limit: 10 });
    expect(teamA.map((e) => e.outcome)).toEqual(['OK', 'PERMISSION_DENIED']);
    const rest = await store.audit.list({ afterId: teamA[0]!.id, limit: 10 });
    expect(rest.map((e) => e.workspace)).toEqual(['team-b', 'team-a']);
  });

  it('notifies watchers through the change feed', async () => {
    const seen = new Promise<void>((resolve) => void store.feed.subscribe('svc:iris', resolve));
    // Subscribing is asynchronous; publish until the listener has fired.
    let fired = false;
    void seen.then(() => (fired = true));
    for (let i = 0; i < 50 && !fired; i++) {
      await store.feed.publish('svc:iris');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(fired).toBe(true);
  });
});

describe('Store while Redis is away', () => {
  it('fails fast with UnavailableError when nothing listens', async () => {
    const store = await Store.connect({
      url: `redis://127.0.0.1:${await freePort()}`,
      connectTimeoutMs: 300,
      readyTimeoutMs: 300,
    });
    const error = await store.workspaces.list().catch((e: unknown) => e);
    expect(isErrorKind(error, 'unavailable')).toBe(true);
    await store.close();
  });

  it('recovers without a restart when Redis comes back on the same port', async () => {
    const server = await startRedisServer();
    const store = await Store.connect({ url: server.url, connectTimeoutMs: 300 });
    await store.workspaces.create({
      name: 'team-a',
      description: '',
      defaultNamespace: 'team-a',
      createdAt: now,
    });
    await server.stop();
    const during = await store.workspaces.list().catch((e: unknown) => e);
    expect(isErrorKind(during, 'unavailable')).toBe(true);

    const again = await startRedisServer({ port: server.port });
    try {
      let names: string[] | undefined;
      for (let i = 0; i < 100 && names === undefined; i++) {
        names = await store.workspaces.list().then(
          (list) => list.map((w) => w.name),
          () => new Promise<undefined>((r) => setTimeout(() => r(undefined), 50)),
        );
      }
      // The restarted server has no data (no persistence here) but the client works again.
      expect(names).toEqual([]);
    } finally {
      await store.close();
      await again.stop();
    }
  });
});

describe('connectivity reports', () => {
  it('keeps the latest report per node, never an older one over a newer one', async () => {
    const redis = isolatedRedis();
    const store = await Store.connect({ url: redis.url, keyPrefix: redis.prefix });
    try {
      const report = {
        compute: 'aks',
        healthy: true,
        failedChecks: 0,
        warnings: 0,
        reportJson: '{}',
      };
      await store.connectivity.save('team-a', {
        ...report,
        nodeName: 'node-b',
        time: '2026-11-26T10:00:00.000Z',
      });
      await store.connectivity.save('team-a', {
        ...report,
        nodeName: 'node-a',
        time: '2026-11-26T10:05:00.000Z',
        healthy: false,
        failedChecks: 2,
      });
      await store.connectivity.save('team-a', {
        ...report,
        nodeName: 'node-a',
        time: '2026-11-26T10:01:00.000Z',
      });
      const listed = await store.connectivity.list('team-a', 'aks');
      expect(listed.map((r) => [r.nodeName, r.healthy, r.failedChecks])).toEqual([
        ['node-a', false, 2],
        ['node-b', true, 0],
      ]);
      expect(await store.connectivity.list('team-b', 'aks')).toEqual([]);
    } finally {
      await store.close();
      await redis.cleanup();
    }
  });
});
