import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelDigestBuilder } from '@skiff/hashing';
import type { DeployedModel } from '@skiff/proto';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactCache, ArtifactDigestMismatchError } from './artifact-cache.js';

const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('ArtifactCache', () => {
  let root: string;
  const stored = new Map<string, Buffer>();
  const fetched: string[] = [];
  const source = (digest: string) =>
    (async function* () {
      fetched.push(digest);
      const bytes = stored.get(digest);
      if (!bytes) throw new Error(`not found: ${digest}`);
      // In two pieces, like the 1 MiB chunks of DownloadArtifact.
      yield bytes.subarray(0, 3);
      yield bytes.subarray(3);
    })();
  const put = (bytes: Buffer) => {
    const digest = digestOf(bytes);
    stored.set(digest, bytes);
    return digest;
  };
  const cache = (maxBytes = 1024 ** 3) =>
    new ArtifactCache(root, maxBytes, source, pino({ level: 'silent' }));

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'skiff-cache-'));
    stored.clear();
    fetched.length = 0;
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function model(name: string, files: Record<string, Buffer>): DeployedModel {
    const builder = new ModelDigestBuilder();
    const paths = Object.keys(files).sort();
    for (const path of paths) builder.addFile(path, files[path]!.length).update(files[path]!);
    return {
      name,
      version: 1,
      digest: builder.digest(),
      files: paths.map((path) => ({
        path,
        sizeBytes: files[path]!.length,
        executable: false,
        blobDigest: put(files[path]!),
      })),
    };
  }

  it('downloads a blob once, however many ask at the same time, and verifies it', async () => {
    const digest = put(Buffer.from('weights of the iris model'));
    const c = cache();
    const paths = await Promise.all([c.blob(digest), c.blob(digest), c.blob(digest)]);
    expect(new Set(paths).size).toBe(1);
    expect(await readFile(paths[0]!, 'utf8')).toBe('weights of the iris model');
    await cache().blob(digest); // a new agent on the same node: from disk
    expect(fetched).toEqual([digest]);
  });

  it('refuses bytes that do not match their digest and keeps nothing of them', async () => {
    const digest = digestOf(Buffer.from('the real bytes'));
    stored.set(digest, Buffer.from('corrupted bytes'));
    await expect(cache().blob(digest)).rejects.toBeInstanceOf(ArtifactDigestMismatchError);
    expect(await readdir(join(root, 'blobs'))).toEqual([]);
  });

  it('lays out a model as <name>/<version>/<path>, checked against its tree digest, once', async () => {
    const iris = model('iris', {
      'model.json': Buffer.from('{"w":[1,2]}'),
      'sub/extra.bin': Buffer.from('extra'),
    });
    const dir = await cache().model(iris);
    expect(dir).toBe(join(root, 'models', 'iris', '1'));
    expect(await readFile(join(dir, 'sub', 'extra.bin'), 'utf8')).toBe('extra');
    await cache().model(iris);
    expect(fetched).toHaveLength(2);
    const wrong = { ...iris, name: 'wrong', digest: `sha256:${'0'.repeat(64)}` };
    await expect(cache().model(wrong)).rejects.toBeInstanceOf(ArtifactDigestMismatchError);
    await expect(stat(join(root, 'models', 'wrong', '1'))).rejects.toThrow();
  });

  it('removes least recently used entries beyond its size, never one in use', async () => {
    const a = put(Buffer.alloc(400, 1));
    const b = put(Buffer.alloc(400, 2));
    const c = put(Buffer.alloc(400, 3));
    const small = cache(900);
    const pa = await small.blob(a);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const pb = await small.blob(b);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await small.blob(c);
    // a is the oldest but in use: b goes instead.
    expect(await small.evict(new Set([pa]))).toBe(1);
    expect(await readdir(join(root, 'blobs'))).toHaveLength(2);
    await expect(stat(pb)).rejects.toThrow();
    await writeFile(join(root, 'blobs', 'unrelated.partial'), 'x');
    expect(await small.evict(new Set([pa]))).toBe(0);
  });
});
