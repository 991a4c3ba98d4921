import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store, type ModelRecord } from './index.js';

const blob = (c: string) => `sha256:${c.repeat(64)}`;
const now = '2026-11-26T10:00:00.000Z';

function model(workspace: string, name: string, blobs: string[]): Omit<ModelRecord, 'version'> {
  return {
    workspace,
    name,
    digest: blob('d'),
    sizeBytes: blobs.length,
    files: blobs.map((b, i) => ({ path: `f${i}`, size: 1, executable: false, blob: b })),
    description: '',
    tags: {},
    properties: {},
    createdAt: now,
    createdBy: 'x',
    deduplicated: false,
  };
}

// What the artifact collector relies on in Redis: exact model-blob ownership after deletes,
// snapshot use times checked atomically with removal, upload pins, workspace discovery.
describe('Store: artifact collection support (real Redis)', () => {
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

  it('deleting a model version drops the blobs only it listed from the workspace, keeps shared ones', async () => {
    await store.models.register(model('team-a', 'iris', [blob('1'), blob('2')]));
    await store.models.register(model('team-a', 'iris', [blob('2'), blob('3')]));
    await store.models.register(model('team-b', 'iris', [blob('1')]));
    expect(await store.models.delete('team-a', 'iris', 1)).toBe(true);
    expect(await store.models.ownsBlob('team-a', blob('1'))).toBe(false);
    expect(await store.models.ownsBlob('team-a', blob('2'))).toBe(true);
    expect(await store.models.ownsBlob('team-a', blob('3'))).toBe(true);
    expect(await store.models.ownsBlob('team-b', blob('1'))).toBe(true);
    expect(await store.models.delete('team-a', 'iris', 1)).toBe(false);
    expect(await store.models.delete('team-a', 'iris', 2)).toBe(true);
    expect(await store.models.ownsBlob('team-a', blob('2'))).toBe(false);
  });

  it('removes a snapshot record only when it was not used since the cutoff', async () => {
    const record = { workspace: 'team-a', digest: blob('s'), sizeBytes: 1, createdAt: now };
    expect(await store.snapshots.add(record, 1_000)).toBe(true);
    expect(await store.snapshots.add(record, 2_000)).toBe(false);
    expect(await store.snapshots.deleteUnused('team-a', blob('s'), 2_000)).toBe(false);
    await store.snapshots.markUsed('team-a', [blob('s'), blob('x')], 5_000);
    expect(await store.snapshots.deleteUnused('team-a', blob('s'), 5_000)).toBe(false);
    expect((await store.snapshots.list('team-a')).map((s) => s.digest)).toEqual([blob('s')]);
    expect(await store.snapshots.deleteUnused('team-a', blob('s'), 5_001)).toBe(true);
    expect(await store.snapshots.get('team-a', blob('s'))).toBeUndefined();
    // markUsed never creates a record.
    await store.snapshots.markUsed('team-a', [blob('s')], 9_000);
    expect(await store.snapshots.list('team-a')).toEqual([]);
  });

  it('pins per upload until a time; pins of one digest by two uploads are independent', async () => {
    await store.artifactGc.pin('u1', [blob('1'), blob('2')], 10_000);
    await store.artifactGc.pin('u2', [blob('2')], 20_000);
    expect([...(await store.artifactGc.pinned(5_000))].sort()).toEqual([blob('1'), blob('2')]);
    await store.artifactGc.unpin('u2', [blob('2')]);
    expect([...(await store.artifactGc.pinned(5_000))].sort()).toEqual([blob('1'), blob('2')]);
    await store.artifactGc.pin('u2', [blob('2')], 20_000);
    expect([...(await store.artifactGc.pinned(15_000))]).toEqual([blob('2')]);
    await store.artifactGc.unpin('u2', [blob('2')]);
    expect(await store.artifactGc.pinned(0)).toEqual(new Set());
  });

  it('finds every workspace that may hold references, also those deleted with data left', async () => {
    await store.workspaces.create({
      name: 'team-a',
      description: '',
      defaultNamespace: 'team-a',
      createdAt: now,
    });
    await store.models.register(model('gone', 'iris', [blob('1')]));
    await store.snapshots.add({
      workspace: 'old',
      digest: blob('s'),
      sizeBytes: 1,
      createdAt: now,
    });
    expect(await store.artifactGc.workspaces()).toEqual(['gone', 'old', 'team-a']);
  });
});
