// What a garbage collector needs from every ArtifactStore (list, conditional delete, removal
// of partial uploads), run against each backend (filesystem-store.test.ts,
// azure-blob-store.test.ts). Ages are never waited for: a cutoff in the future makes
// everything old, one in the past makes everything young.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ArtifactStore, type StoredArtifact } from '../artifact-store.js';
import { sha256Digest } from '../digest.js';
import { chunked, patternBytes, readAll } from './sources.js';

/** One backend under test, with ways to make and count what failed uploads leave behind. */
export interface CollectionSubject {
  readonly store: ArtifactStore;
  /**
   * Leaves behind what an upload that never finished leaves in this backend (a crashed
   * process's temp file; a failed put's uncommitted blocks).
   */
  abandonUpload(seed: string): Promise<void>;
  /** How many partial uploads the backend holds (temp files, temp or uncommitted blobs). */
  partialUploads(): Promise<number>;
  dispose(): Promise<void>;
}

const KIB = 1024;
const future = () => new Date(Date.now() + 3_600_000);
const past = () => new Date(Date.now() - 3_600_000);

/** Registers the collection suite for one backend. */
export function describeCollectionContract(
  backend: string,
  makeSubject: () => Promise<CollectionSubject>,
): void {
  describe(`ArtifactStore collection contract: ${backend}`, () => {
    let subject: CollectionSubject;
    let store: ArtifactStore;

    beforeEach(async () => {
      subject = await makeSubject();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.dispose();
    });

    async function listed(): Promise<Map<string, StoredArtifact>> {
      const all = new Map<string, StoredArtifact>();
      for await (const artifact of store.list()) all.set(artifact.digest, artifact);
      return all;
    }

    it('lists every stored artifact with its size, and no partial upload', async () => {
      const a = patternBytes('list-a', 300 * KIB);
      const b = patternBytes('list-b', 10);
      await store.put(chunked(a));
      await store.put(chunked(b));
      await subject.abandonUpload('list-partial');
      const all = await listed();
      expect([...all.keys()].sort()).toEqual([sha256Digest(a), sha256Digest(b)].sort());
      expect(all.get(sha256Digest(a))?.size).toBe(a.length);
      expect(all.get(sha256Digest(b))?.size).toBe(b.length);
      for (const artifact of all.values()) {
        expect(artifact.modifiedAt.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
        expect(artifact.revision).not.toBe('');
      }
    });

    it('deletes an artifact as listed, once', async () => {
      const bytes = patternBytes('delete-listed', 50 * KIB);
      const { digest } = await store.put(chunked(bytes));
      const artifact = (await listed()).get(digest)!;
      expect(await store.deleteIfUnchanged(artifact)).toBe(true);
      expect(await store.has(digest)).toBe(false);
      expect(await store.deleteIfUnchanged(artifact)).toBe(false);
      expect((await listed()).size).toBe(0);
    });

    it('keeps an artifact that was put again after it was listed (a dedup hit refreshes it)', async () => {
      const bytes = patternBytes('put-again', 50 * KIB);
      const { digest } = await store.put(chunked(bytes));
      const before = (await listed()).get(digest)!;
      const again = await store.put(chunked(bytes), { expectedDigest: digest });
      expect(again.created).toBe(false);
      // Without an expected digest (how model files arrive) the refresh happens too.
      const before2 = (await listed()).get(digest)!;
      expect((await store.put(chunked(bytes))).created).toBe(false);
      expect(await store.deleteIfUnchanged(before)).toBe(false);
      expect(await store.deleteIfUnchanged(before2)).toBe(false);
      expect((await readAll(await store.open(digest))).equals(bytes)).toBe(true);
      const after = (await listed()).get(digest)!;
      expect(after.revision).not.toBe(before.revision);
      expect(after.modifiedAt.getTime()).toBeGreaterThanOrEqual(before.modifiedAt.getTime());
    });

    it('runs beforePublish with the digest before the artifact is visible; a failing hook stores nothing', async () => {
      const bytes = patternBytes('before-publish', 20 * KIB);
      const digest = sha256Digest(bytes);
      const seen: Array<[string, boolean]> = [];
      await store.put(chunked(bytes), {
        beforePublish: async (d) => void seen.push([d, await store.has(d)]),
      });
      expect(seen).toEqual([[digest, false]]);
      const other = patternBytes('before-publish-refused', 20 * KIB);
      const refused = new Error('not pinned');
      await expect(
        store.put(chunked(other), { beforePublish: () => Promise.reject(refused) }),
      ).rejects.toBe(refused);
      await expect(
        store.put(chunked(other), {
          expectedDigest: sha256Digest(other),
          beforePublish: () => Promise.reject(refused),
        }),
      ).rejects.toBe(refused);
      expect(await store.has(sha256Digest(other))).toBe(false);
    });

    it('removes partial uploads older than the cutoff, keeps younger ones and every artifact', async () => {
      const kept = patternBytes('kept-artifact', 40 * KIB);
      const { digest } = await store.put(chunked(kept));
      await subject.abandonUpload('stale-1');
      await subject.abandonUpload('stale-2');
      const partial = await subject.partialUploads();
      expect(partial).toBeGreaterThanOrEqual(2);

      expect(await store.removeStaleUploads(past())).toEqual({ count: 0, bytes: 0 });
      expect(await subject.partialUploads()).toBe(partial);

      const removed = await store.removeStaleUploads(future());
      expect(removed.count).toBe(partial);
      expect(await subject.partialUploads()).toBe(0);
      expect((await readAll(await store.open(digest))).equals(kept)).toBe(true);
    });
  });
}
