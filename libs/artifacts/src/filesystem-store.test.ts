import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Digest } from './digest.js';
import { ArtifactStoreUnavailableError } from './errors.js';
import { FilesystemArtifactStore } from './filesystem-store.js';
import { chunked, patternBytes } from './test-support/sources.js';
import { describeCollectionContract } from './test-support/collection-contract.js';
import { describeArtifactStoreContract } from './test-support/store-contract.js';

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

describeArtifactStoreContract('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'skiff-artifacts-'));
  const store = await FilesystemArtifactStore.open({ root });
  const pathOf = (digest: string): string => {
    const hex = digest.slice('sha256:'.length);
    return join('sha256', hex.slice(0, 2), hex);
  };
  return {
    store,
    listObjects: () => listFiles(root),
    objectName: pathOf,
    corrupt: async (digest, bytes) => {
      const path = join(root, pathOf(digest));
      await chmod(path, 0o644);
      await writeFile(path, bytes);
    },
    dispose: async () => {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

describeCollectionContract('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'skiff-artifacts-'));
  const store = await FilesystemArtifactStore.open({ root });
  const temps = async () =>
    (await readdir(join(root, 'tmp'))).filter((name) => name.endsWith('.part'));
  return {
    store,
    // What a process that crashed mid-put leaves (a put that fails in-process cleans up).
    abandonUpload: (seed) =>
      writeFile(join(root, 'tmp', `${randomUUID()}.part`), patternBytes(seed, 1000)),
    partialUploads: async () => (await temps()).length,
    dispose: async () => {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

describe('FilesystemArtifactStore', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'skiff-artifacts-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('lays artifacts out as <root>/sha256/<ab>/<hex>, read-only', async () => {
    const store = await FilesystemArtifactStore.open({ root });
    const bytes = patternBytes('layout', 1000);
    const { digest } = await store.put(chunked(bytes));
    const hex = digest.slice('sha256:'.length);
    expect(await listFiles(root)).toEqual([join('sha256', hex.slice(0, 2), hex)]);
    expect((await stat(join(root, 'sha256', hex.slice(0, 2), hex))).mode & 0o777).toBe(0o444);
  });

  it('removes temp files left by a crashed process, but not recent ones', async () => {
    await FilesystemArtifactStore.open({ root });
    const stale = join(root, 'tmp', 'crashed.part');
    const fresh = join(root, 'tmp', 'in-progress.part');
    await writeFile(stale, 'partial');
    await writeFile(fresh, 'partial');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    await utimes(stale, twoDaysAgo, twoDaysAgo);
    await FilesystemArtifactStore.open({ root });
    expect((await listFiles(root)).sort()).toEqual([join('tmp', 'in-progress.part')]);
  });

  it('puts back an artifact a sweep set aside when it crashed midway', async () => {
    const store = await FilesystemArtifactStore.open({ root });
    const bytes = patternBytes('aside', 1000);
    const { digest } = await store.put(chunked(bytes));
    const hex = digest.slice('sha256:'.length);
    await rename(
      join(root, 'sha256', hex.slice(0, 2), hex),
      join(root, 'tmp', `${hex}.${randomUUID()}.gc`),
    );
    expect(await store.has(digest)).toBe(false);
    expect(await store.removeStaleUploads(new Date(Date.now() + 60_000))).toEqual({
      count: 0,
      bytes: 0,
    });
    expect(await store.has(digest)).toBe(true);
    expect(await listFiles(root)).toEqual([join('sha256', hex.slice(0, 2), hex)]);
  });

  it('reports a store it cannot write to as unavailable', async () => {
    const store = await FilesystemArtifactStore.open({ root });
    // (Not chmod: tests may run as root, which ignores permissions.)
    await rm(join(root, 'tmp'), { recursive: true });
    await writeFile(join(root, 'tmp'), 'not a directory');
    const put = store.put(chunked(patternBytes('broken', 10)));
    await expect(put).rejects.toBeInstanceOf(ArtifactStoreUnavailableError);
    await expect(put).rejects.toMatchObject({ cause: { code: 'ENOTDIR' } });
  });

  it('keeps serving a stream opened before the artifact was deleted', async () => {
    const store = await FilesystemArtifactStore.open({ root });
    const bytes = patternBytes('unlink', 3 * 1024 * 1024);
    const { digest } = await store.put(chunked(bytes));
    const stream = await store.open(digest);
    expect(await store.delete(digest)).toBe(true);
    const parts: Buffer[] = [];
    for await (const part of stream) parts.push(Buffer.from(part));
    expect(sha256Digest(Buffer.concat(parts))).toBe(digest);
  });
});
