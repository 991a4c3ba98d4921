// The behaviour every ArtifactStore must have, run against each backend (see
// filesystem-store.test.ts and azure-blob-store.test.ts).
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ArtifactStore } from '../artifact-store.js';
import { sha256Digest } from '../digest.js';
import {
  ArtifactNotFoundError,
  ArtifactStoreUnavailableError,
  ArtifactTooLargeError,
  DigestMismatchError,
  InvalidDigestError,
} from '../errors.js';
import {
  chunked,
  fromChunks,
  generated,
  generatedDigest,
  patternBytes,
  readAll,
  type SourceProbe,
} from './sources.js';

/** One backend under test: a fresh, empty store and ways to look behind its back. */
export interface ContractSubject {
  readonly store: ArtifactStore;
  /**
   * Every object a reader could see, anywhere in the backend (files under the root, committed
   * blobs in the container), as names relative to the store.
   */
  listObjects(): Promise<string[]>;
  /** The name `listObjects` reports for an artifact stored under `digest`. */
  objectName(digest: string): string;
  /** Replaces a stored artifact's bytes behind the store's back (bit rot, tampering). */
  corrupt(digest: string, bytes: Uint8Array): Promise<void>;
  dispose(): Promise<void>;
}

const MIB = 1024 * 1024;
const MISSING = `sha256:${'0'.repeat(64)}`;

/** Registers the shared behavioural suite for one backend. */
export function describeArtifactStoreContract(
  backend: string,
  makeSubject: () => Promise<ContractSubject>,
): void {
  describe(`ArtifactStore contract: ${backend}`, () => {
    let subject: ContractSubject;
    let store: ArtifactStore;

    beforeEach(async () => {
      subject = await makeSubject();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.dispose();
    });

    async function expectOnlyObjects(...digests: string[]): Promise<void> {
      expect((await subject.listObjects()).sort()).toEqual(
        digests.map((d) => subject.objectName(d)).sort(),
      );
    }

    it('stores bytes under their sha256 and reads them back', async () => {
      const bytes = patternBytes('round-trip', 3 * MIB + 17);
      const result = await store.put(chunked(bytes, 100_000));
      expect(result).toEqual({ digest: sha256Digest(bytes), size: bytes.length, created: true });
      expect(await store.has(result.digest)).toBe(true);
      expect(await store.stat(result.digest)).toEqual({ size: bytes.length });
      expect((await readAll(await store.open(result.digest))).equals(bytes)).toBe(true);
      await expectOnlyObjects(result.digest);
    });

    it('stores an empty artifact', async () => {
      const result = await store.put(fromChunks([]));
      expect(result).toEqual({ digest: sha256Digest(new Uint8Array()), size: 0, created: true });
      expect(await store.stat(result.digest)).toEqual({ size: 0 });
      expect((await readAll(await store.open(result.digest))).length).toBe(0);
    });

    it('stores any chunking of any bytes under the digest of their concatenation', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.uint8Array({ maxLength: 5000 }), { maxLength: 8 }),
          async (chunks) => {
            const whole = Buffer.concat(chunks);
            const result = await store.put(fromChunks(chunks));
            expect(result.digest).toBe(sha256Digest(whole));
            expect(result.size).toBe(whole.length);
            expect((await readAll(await store.open(result.digest))).equals(whole)).toBe(true);
          },
        ),
        { numRuns: 25 },
      );
    });

    it('stores the same content once and reports the second put as not created', async () => {
      const bytes = patternBytes('dedup', 200_000);
      const first = await store.put(chunked(bytes));
      const second = await store.put(chunked(bytes, 7_000), { expectedDigest: first.digest });
      expect(first.created).toBe(true);
      expect(second).toEqual({ digest: first.digest, size: bytes.length, created: false });
      await expectOnlyObjects(first.digest);
    });

    it('lets exactly one of many concurrent puts of the same content create it', async () => {
      const bytes = patternBytes('race', 2 * MIB + 5);
      const digest = sha256Digest(bytes);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          store.put(
            chunked(bytes, 50_000 + i * 1_000),
            i % 2 === 0 ? { expectedDigest: digest } : {},
          ),
        ),
      );
      expect(results.map((r) => r.digest)).toEqual(Array(6).fill(digest));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect((await readAll(await store.open(digest))).equals(bytes)).toBe(true);
      await expectOnlyObjects(digest);
    });

    it('accepts bytes that match expectedDigest', async () => {
      const bytes = patternBytes('expected', 10_000);
      const result = await store.put(chunked(bytes, 999), { expectedDigest: sha256Digest(bytes) });
      expect(result).toEqual({ digest: sha256Digest(bytes), size: 10_000, created: true });
    });

    it('rejects a digest mismatch and stores nothing, under either digest', async () => {
      const bytes = patternBytes('mismatch', 1 * MIB + 3);
      const claimed = sha256Digest('something else');
      const put = store.put(chunked(bytes), { expectedDigest: claimed });
      await expect(put).rejects.toBeInstanceOf(DigestMismatchError);
      await expect(put).rejects.toMatchObject({ expected: claimed, actual: sha256Digest(bytes) });
      expect(await store.has(claimed)).toBe(false);
      expect(await store.has(sha256Digest(bytes))).toBe(false);
      await expect(store.open(claimed)).rejects.toBeInstanceOf(ArtifactNotFoundError);
      await expectOnlyObjects();
    });

    it('refuses an oversize upload as soon as the limit is crossed, and stores nothing', async () => {
      const probe: SourceProbe = { produced: 0, stopped: false };
      // An endless source: the put can only end by refusing it early.
      const put = store.put(generated(undefined, probe), { maxBytes: MIB + 1 });
      await expect(put).rejects.toBeInstanceOf(ArtifactTooLargeError);
      await expect(put).rejects.toMatchObject({ maxBytes: MIB + 1 });
      expect(probe.produced).toBe(MIB + 64 * 1024);
      await vitestEventually(() => probe.stopped);
      await expectOnlyObjects();
    });

    it('accepts an upload of exactly maxBytes', async () => {
      const bytes = patternBytes('limit', 70_000);
      const result = await store.put(chunked(bytes, 10_000), { maxBytes: 70_000 });
      expect(result.size).toBe(70_000);
      await expect(store.put(chunked(bytes, 10_000), { maxBytes: 69_999 })).rejects.toBeInstanceOf(
        ArtifactTooLargeError,
      );
    });

    it('stores nothing when the source stream is cut midway', async () => {
      const cut = new Error('connection reset by client');
      async function* cutStream(): AsyncGenerator<Uint8Array> {
        yield* generated(2 * MIB + 100);
        throw cut;
      }
      await expect(store.put(cutStream())).rejects.toBe(cut);
      await expect(
        store.put(cutStream(), { expectedDigest: await generatedDigest(2 * MIB + 100) }),
      ).rejects.toBe(cut);
      expect(await store.has(await generatedDigest(2 * MIB + 100))).toBe(false);
      await expectOnlyObjects();
    });

    it('stops at once when the signal aborts, even while the source is stalled, and stores nothing', async () => {
      const controller = new AbortController();
      const probe: SourceProbe = { produced: 0, stopped: false };
      async function* stalling(): AsyncGenerator<Uint8Array> {
        yield* generated(MIB + 1, probe);
        controller.abort(new Error('client went away'));
        await new Promise(() => undefined); // never produces again
      }
      await expect(store.put(stalling(), { signal: controller.signal })).rejects.toThrow(
        'client went away',
      );
      expect(probe.produced).toBe(MIB + 1);
      await expectOnlyObjects();
    });

    it('rejects at once with an already aborted signal', async () => {
      const probe: SourceProbe = { produced: 0, stopped: false };
      const reason = new Error('too late');
      await expect(
        store.put(generated(100, probe), { signal: AbortSignal.abort(reason) }),
      ).rejects.toBe(reason);
      expect(probe.produced).toBe(0);
    });

    it('rejects chunks that are not bytes', async () => {
      async function* strings(): AsyncGenerator<unknown> {
        yield 'text';
      }
      await expect(store.put(strings() as AsyncIterable<Uint8Array>)).rejects.toBeInstanceOf(
        TypeError,
      );
      await expectOnlyObjects();
    });

    it('answers for absent artifacts without throwing, except open', async () => {
      expect(await store.has(MISSING)).toBe(false);
      expect(await store.stat(MISSING)).toBeUndefined();
      expect(await store.delete(MISSING)).toBe(false);
      await expect(store.open(MISSING)).rejects.toBeInstanceOf(ArtifactNotFoundError);
      await expect(store.open(MISSING)).rejects.toMatchObject({ digest: MISSING });
    });

    it('deletes an artifact', async () => {
      const { digest } = await store.put(chunked(patternBytes('delete', 5_000)));
      expect(await store.delete(digest)).toBe(true);
      expect(await store.has(digest)).toBe(false);
      expect(await store.delete(digest)).toBe(false);
      await expectOnlyObjects();
      // And it can be stored again.
      expect((await store.put(chunked(patternBytes('delete', 5_000)))).created).toBe(true);
    });

    it('rejects malformed digests before touching storage', async () => {
      const bad = [
        'sha256:' + 'A'.repeat(64),
        'sha256:abc',
        'md5:' + '0'.repeat(64),
        '../' + '0'.repeat(64),
        '',
      ];
      for (const digest of bad) {
        await expect(store.has(digest)).rejects.toBeInstanceOf(InvalidDigestError);
        await expect(store.stat(digest)).rejects.toBeInstanceOf(InvalidDigestError);
        await expect(store.open(digest)).rejects.toBeInstanceOf(InvalidDigestError);
        await expect(store.delete(digest)).rejects.toBeInstanceOf(InvalidDigestError);
        await expect(store.put(fromChunks([]), { expectedDigest: digest })).rejects.toBeInstanceOf(
          InvalidDigestError,
        );
      }
      await expect(store.put(fromChunks([]), { maxBytes: -1 })).rejects.toBeInstanceOf(RangeError);
      await expectOnlyObjects();
    });

    it('fails a read whose stored bytes no longer match the digest', async () => {
      const bytes = patternBytes('rot', 300_000);
      const { digest } = await store.put(chunked(bytes));
      const rotten = Buffer.from(bytes);
      rotten.writeUInt8(rotten.readUInt8(123_456) ^ 0xff, 123_456);
      await subject.corrupt(digest, rotten);
      await expect(readAll(await store.open(digest))).rejects.toBeInstanceOf(DigestMismatchError);
    });

    it('refuses every call after close', async () => {
      const { digest } = await store.put(chunked(patternBytes('close', 10)));
      await store.close();
      await store.close();
      await expect(store.has(digest)).rejects.toBeInstanceOf(ArtifactStoreUnavailableError);
      await expect(store.open(digest)).rejects.toBeInstanceOf(ArtifactStoreUnavailableError);
      await expect(store.put(fromChunks([]))).rejects.toBeInstanceOf(ArtifactStoreUnavailableError);
    });

    it('streams 64 MiB in and out without holding it in memory', async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc)
        throw new Error(
          'run with node --expose-gc (libs/artifacts/vitest.config.ts sets execArgv)',
        );
      const total = 64 * MIB;
      let peak = 0;
      let baseline = 0;
      const measure = (): void => {
        gc();
        const usage = process.memoryUsage();
        peak = Math.max(peak, usage.heapUsed + usage.arrayBuffers - baseline);
      };
      gc();
      const start = process.memoryUsage();
      baseline = start.heapUsed + start.arrayBuffers;
      let produced = 0;
      const result = await store.put(
        // Measure every 4 MiB: collect garbage, then see what is still alive.
        generated(total, undefined, 64 * 1024, () => ++produced % 64 === 0 && measure()),
      );
      expect(result.size).toBe(total);

      const hash = createHash('sha256');
      let read = 0;
      for await (const chunk of await store.open(result.digest)) {
        hash.update(chunk);
        read += chunk.byteLength;
        if (read % (4 * MIB) < chunk.byteLength) measure();
      }
      expect(read).toBe(total);
      expect(`sha256:${hash.digest('hex')}`).toBe(result.digest);
      // Holding the artifact would cost 64 MiB; block buffers and stream queues cost a few.
      expect(peak).toBeLessThan(24 * MIB);
    });
  });
}

async function vitestEventually(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}
