import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from './index.js';

const record = (name: string, contentDigest: string) => ({
  workspace: 'team-a',
  name,
  definition: { name, docker: { arguments: [] }, environmentVariables: {} },
  environmentHash: 'sha256:v1:' + 'e'.repeat(64),
  contentDigest,
  createdAt: '2026-11-26T10:00:00.000Z',
  createdBy: 'x',
});

describe('EnvironmentStore on a real Redis', () => {
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

  it('numbers versions per name; the same content as the latest returns the latest', async () => {
    const first = await store.environments.register(record('sklearn', 'a'));
    const again = await store.environments.register(record('sklearn', 'a'));
    const changed = await store.environments.register(record('sklearn', 'b'));
    const back = await store.environments.register(record('sklearn', 'a'));
    const other = await store.environments.register(record('torch', 'a'));
    expect([first, again, changed, back, other].map((r) => [r.record.version, r.created])).toEqual([
      [1, true],
      [1, false],
      [2, true],
      [3, true], // only the latest version counts, as v1's Environment.register did
      [1, true],
    ]);
    // The JSON is stored as given: empty arrays stay arrays.
    expect((await store.environments.get('team-a', 'sklearn', 1))?.definition).toEqual(
      record('sklearn', 'a').definition,
    );
    expect((await store.environments.get('team-a', 'sklearn'))?.version).toBe(3);
    expect(await store.environments.get('team-a', 'missing')).toBeUndefined();
    expect(await store.environments.get('team-b', 'sklearn')).toBeUndefined();
    expect((await store.environments.list('team-a')).map((e) => `${e.name}:${e.version}`)).toEqual([
      'sklearn:1',
      'sklearn:2',
      'sklearn:3',
      'torch:1',
    ]);
    expect((await store.environments.list('team-a', 'torch')).length).toBe(1);
  });

  it('creates one version when the same content is registered concurrently', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.environments.register(record('sklearn', 'same'))),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.record.version))).toEqual(new Set([1]));
  });
});
