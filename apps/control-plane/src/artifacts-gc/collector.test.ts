import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemArtifactStore, sha256Digest } from '@skiff/artifacts';
import { Store, type ModelRecord, type ServiceRecord } from '@skiff/store';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactCollector } from './collector.js';
import { UploadPin } from './upload-pin.js';

const HOUR = 3_600_000;

// The collector on real Redis and a real filesystem artifact store. Age is simulated with the
// collector's clock (set ahead), never waited for.
describe('ArtifactCollector', () => {
  let redis: IsolatedRedis;
  let store: Store;
  let root: string;
  let artifacts: FilesystemArtifactStore;

  beforeEach(async () => {
    redis = isolatedRedis();
    store = await Store.connect({ url: redis.url, keyPrefix: redis.prefix });
    root = await mkdtemp(join(tmpdir(), 'skiff-gc-test-'));
    artifacts = await FilesystemArtifactStore.open({ root });
  });
  afterEach(async () => {
    await artifacts.close();
    await store.close();
    await redis.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  /** A collector with a one-hour grace whose clock runs `aheadMs` ahead of the real one. */
  const collector = (aheadMs: number, snapshotRetentionMs = 24 * HOUR) =>
    new ArtifactCollector({
      store,
      artifacts,
      graceMs: HOUR,
      snapshotRetentionMs,
      now: () => Date.now() + aheadMs,
    });

  async function* bytes(content: string): AsyncGenerator<Uint8Array> {
    yield Buffer.from(content);
  }
  async function put(content: string): Promise<string> {
    return (await artifacts.put(bytes(content))).digest;
  }

  async function registerModel(workspace: string, name: string, blobs: string[]) {
    const record: Omit<ModelRecord, 'version'> = {
      workspace,
      name,
      digest: sha256Digest(blobs.join()),
      sizeBytes: blobs.length,
      files: blobs.map((blob, i) => ({ path: `f${i}`, size: 1, executable: false, blob })),
      description: '',
      tags: {},
      properties: {},
      createdAt: new Date().toISOString(),
      createdBy: 'test',
      deduplicated: false,
    };
    return store.models.register(record);
  }

  async function service(
    workspace: string,
    name: string,
    snapshotDigest: string,
    generations: { generation: number; applied: number },
  ) {
    await store.services.mutate(
      workspace,
      name,
      () =>
        ({
          revision: 0,
          workspace,
          name,
          compute: 'local',
          spec: { compute: 'local', snapshotDigest },
          specHash: randomUUID(),
          generation: generations.generation,
          appliedGeneration: generations.applied,
          state: 'healthy',
          authMode: 'none',
          environmentHash: '',
          desiredReplicas: 1,
          readyReplicas: 1,
          createdAt: new Date().toISOString(),
          updatedAt: new Date().toISOString(),
          updatedBy: 'test',
        }) satisfies ServiceRecord,
    );
  }

  it('after a model is deleted, sweeps its unique blobs and keeps those another model or workspace shares', async () => {
    const unique = await put('only in iris v1');
    const sharedInWorkspace = await put('also in iris v2');
    const sharedAcrossWorkspaces = await put('also in team-b');
    const v1 = await registerModel('team-a', 'iris', [unique, sharedInWorkspace]);
    await registerModel('team-a', 'iris', [sharedInWorkspace]);
    await registerModel('team-b', 'copy', [sharedAcrossWorkspaces]);
    await registerModel('team-a', 'iris-old', [sharedAcrossWorkspaces]);

    expect((await collector(2 * HOUR).collect()).blobsSwept).toBe(0);

    expect(await store.models.delete('team-a', 'iris', v1.version)).toBe(true);
    expect(await store.models.delete('team-a', 'iris-old', 1)).toBe(true);
    const report = await collector(2 * HOUR).collect();
    expect(report).toMatchObject({ blobsSwept: 1, bytesSwept: 'only in iris v1'.length });
    expect(await artifacts.has(unique)).toBe(false);
    expect(await artifacts.has(sharedInWorkspace)).toBe(true);
    expect(await artifacts.has(sharedAcrossWorkspaces)).toBe(true);
  });

  it('keeps an unreferenced blob younger than the grace period, and sweeps it once older', async () => {
    const orphan = await put('nobody registered me');
    const now = await collector(0).collect();
    expect(now).toMatchObject({ blobsYoung: 1, blobsSwept: 0 });
    expect(await artifacts.has(orphan)).toBe(true);
    expect((await collector(2 * HOUR).collect()).blobsSwept).toBe(1);
    expect(await artifacts.has(orphan)).toBe(false);
  });

  it('keeps the blobs of an upload in progress however old, until it ends', async () => {
    // The collector's clock runs two hours ahead; the upload renews its pin all along, which
    // a three-hour pin stands for here.
    const pin = new UploadPin(store.artifactGc, 3 * HOUR);
    const { digest } = await pin.store(artifacts).put(bytes('first file of a long upload'));
    expect((await collector(2 * HOUR).collect()).blobsSwept).toBe(0);
    expect(await artifacts.has(digest)).toBe(true);
    await pin.release(); // the upload failed: no record names the blob
    expect((await collector(2 * HOUR).collect()).blobsSwept).toBe(1);
    expect(await artifacts.has(digest)).toBe(false);
  });

  it('removes partial uploads idle for the grace period, not those still being written', async () => {
    const stale = join(root, 'tmp', `${randomUUID()}.part`);
    const fresh = join(root, 'tmp', `${randomUUID()}.part`);
    await writeFile(stale, 'a crashed upload');
    await writeFile(fresh, 'an upload in progress');
    const twoHoursAgo = new Date(Date.now() - 2 * HOUR);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    const report = await collector(0).collect();
    expect(report).toMatchObject({
      partialUploadsRemoved: 1,
      partialUploadBytesRemoved: 'a crashed upload'.length,
    });
    expect(await readdir(join(root, 'tmp'))).toEqual([fresh.slice(fresh.lastIndexOf('/') + 1)]);
  });

  it('removes a superseded snapshot record (and then its blob) once unused for the retention; keeps referenced ones and all during a rollout', async () => {
    const current = await put('snapshot zip v2');
    const superseded = await put('snapshot zip v1');
    const longAgo = new Date(Date.now() - 48 * HOUR).toISOString();
    for (const digest of [current, superseded]) {
      await store.snapshots.add(
        { workspace: 'team-a', digest, sizeBytes: 1, createdAt: longAgo },
        Date.now() - 48 * HOUR,
      );
    }
    // Rolling out generation 2 (snapshot v2) while generation 1 (maybe v1) still runs.
    await service('team-a', 'iris', current, { generation: 2, applied: 1 });
    const rolling = await collector(2 * HOUR).collect();
    expect(rolling).toMatchObject({ rollingOut: ['team-a'], snapshotRecordsRemoved: 0 });
    expect(await store.snapshots.get('team-a', superseded)).toBeDefined();
    expect(await artifacts.has(superseded)).toBe(true);

    await service('team-a', 'iris', current, { generation: 2, applied: 2 });
    const done = await collector(2 * HOUR).collect();
    expect(done).toMatchObject({ rollingOut: [], snapshotRecordsRemoved: 1, blobsSwept: 1 });
    expect(await store.snapshots.get('team-a', superseded)).toBeUndefined();
    expect(await artifacts.has(superseded)).toBe(false);
    expect(await store.snapshots.get('team-a', current)).toBeDefined();
    expect(await artifacts.has(current)).toBe(true);
  });

  it('keeps a superseded snapshot that was used within the retention', async () => {
    const digest = await put('snapshot asked for a moment ago');
    const longAgo = new Date(Date.now() - 48 * HOUR).toISOString();
    await store.snapshots.add({ workspace: 'team-a', digest, sizeBytes: 1, createdAt: longAgo });
    // Asked for (GetSnapshot) just now: a deploy naming it may be on its way.
    await store.snapshots.markUsed('team-a', [digest]);
    expect((await collector(2 * HOUR).collect()).snapshotRecordsRemoved).toBe(0);
    expect(await artifacts.has(digest)).toBe(true);
  });
});
