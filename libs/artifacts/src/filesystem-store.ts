import { randomUUID } from 'node:crypto';
import {
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  stat,
  unlink,
  utimes,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  type ArtifactReadStream,
  type ArtifactStore,
  type PutOptions,
  type PutResult,
  type StaleUploadsRemoved,
  type StoredArtifact,
} from './artifact-store.js';
import { ArtifactHasher, digestHex, type ArtifactDigest } from './digest.js';
import {
  ArtifactNotFoundError,
  ArtifactStoreError,
  ArtifactStoreUnavailableError,
  DigestMismatchError,
} from './errors.js';
import { assertMaxBytes, meteredChunks } from './ingest.js';
import { artifactReadStream } from './verified-read.js';

/** Options of {@link FilesystemArtifactStore.open}. */
export interface FilesystemStoreOptions {
  /** Directory that holds the store; created when missing. */
  root: string;
  /** Hash every read and fail a stream whose bytes changed at rest. Default true. */
  verifyOnRead?: boolean;
  /**
   * Temp files older than this (left by a crashed process) are removed by `open`. Default
   * 24 h: long enough that another process's upload in progress is never touched.
   */
  staleTempAfterMs?: number;
}

const TEMP_SUFFIX = '.part';
/** An artifact a sweep has set aside: `tmp/<hex>.<uuid>.gc`, deleted or put back at once. */
const ASIDE_SUFFIX = '.gc';
const HEX = /^[0-9a-f]{64}$/;
const DAY_MS = 24 * 60 * 60 * 1000;
const READ_CHUNK = 1024 * 1024;

/**
 * The embedded artifact store: one file per artifact at `<root>/sha256/<ab>/<hex>` (`ab` = the
 * first two hex digits). An upload is written to `<root>/tmp/<uuid>.part` (same filesystem),
 * fsynced, verified, then hard-linked to its final name — `link` fails when the name exists, so
 * of concurrent puts of one content exactly one reports `created: true` — and the temp file is
 * removed. A reader never sees a partial file under a digest name. Safe for several processes
 * sharing one root on a local filesystem.
 */
export class FilesystemArtifactStore implements ArtifactStore {
  readonly #root: string;
  readonly #tempDir: string;
  readonly #verifyOnRead: boolean;
  #closed = false;

  protected constructor(root: string, verifyOnRead: boolean) {
    this.#root = root;
    this.#tempDir = join(root, 'tmp');
    this.#verifyOnRead = verifyOnRead;
  }

  /**
   * Opens (creating when needed) the store under `options.root` and removes stale temp files.
   *
   * @throws ArtifactStoreUnavailableError when the directories cannot be created or read.
   */
  static async open(options: FilesystemStoreOptions): Promise<FilesystemArtifactStore> {
    const root = resolve(options.root);
    const store = new FilesystemArtifactStore(root, options.verifyOnRead ?? true);
    await fsCall('create the store directories', async () => {
      await mkdir(join(root, 'sha256'), { recursive: true });
      await mkdir(join(root, 'tmp'), { recursive: true });
    });
    await store.removeStaleUploads(new Date(Date.now() - (options.staleTempAfterMs ?? DAY_MS)));
    return store;
  }

  /** The absolute path of the store's root directory. */
  get root(): string {
    return this.#root;
  }

  /** {@inheritDoc ArtifactStore.put} */
  async put(source: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<PutResult> {
    this.#assertOpen();
    const expected = options.expectedDigest;
    if (expected !== undefined) digestHex(expected);
    assertMaxBytes(options.maxBytes);
    const tempPath = join(this.#tempDir, `${randomUUID()}${TEMP_SUFFIX}`);
    const file: FileHandle = await fsCall('create a temp file', () =>
      // Read-only once written: nothing should ever modify an artifact in place.
      open(tempPath, 'wx', 0o444),
    );
    let fileOpen = true;
    try {
      const hasher = new ArtifactHasher();
      for await (const chunk of meteredChunks(source, hasher, options)) {
        await fsCall('write', () => writeFully(file, chunk));
      }
      await fsCall('fsync', () => file.sync());
      fileOpen = false;
      await fsCall('close', () => file.close());
      const digest = hasher.digest();
      if (expected !== undefined && digest !== expected) {
        throw new DigestMismatchError(expected, digest);
      }
      await options.beforePublish?.(digest);
      // The modification time is the process clock's (a collector compares it with that
      // clock), not the kernel's coarser timestamp of the last write.
      await fsCall('set the file times', () => touch(tempPath));
      const created = await this.#publish(tempPath, this.#path(digestHex(digest)));
      return { digest, size: hasher.size, created };
    } finally {
      if (fileOpen) await file.close().catch(() => undefined);
      await rm(tempPath, { force: true }).catch(() => undefined);
    }
  }

  /** {@inheritDoc ArtifactStore.has} */
  async has(digest: ArtifactDigest): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  /** {@inheritDoc ArtifactStore.stat} */
  async stat(digest: ArtifactDigest): Promise<{ size: number } | undefined> {
    this.#assertOpen();
    const path = this.#path(digestHex(digest));
    return fsCall('stat', async () => {
      try {
        return { size: (await stat(path)).size };
      } catch (error) {
        if (errorCode(error) === 'ENOENT') return undefined;
        throw error;
      }
    });
  }

  /** {@inheritDoc ArtifactStore.open} */
  async open(digest: ArtifactDigest): Promise<ArtifactReadStream> {
    this.#assertOpen();
    const path = this.#path(digestHex(digest));
    const handle = await fsCall('open', async () => {
      try {
        return await open(path, 'r');
      } catch (error) {
        if (errorCode(error) === 'ENOENT')
          throw new ArtifactNotFoundError(digest, { cause: error });
        throw error;
      }
    });
    // Opening the descriptor first means a concurrent delete cannot cut this read short.
    const body = handle.createReadStream({ highWaterMark: READ_CHUNK });
    return artifactReadStream(body, digest, {
      verify: this.#verifyOnRead,
      mapError: (error) => toUnavailable('read', error),
    });
  }

  /** {@inheritDoc ArtifactStore.delete} */
  async delete(digest: ArtifactDigest): Promise<boolean> {
    this.#assertOpen();
    const path = this.#path(digestHex(digest));
    return fsCall('delete', async () => {
      try {
        await unlink(path);
        return true;
      } catch (error) {
        if (errorCode(error) === 'ENOENT') return false;
        throw error;
      }
    });
  }

  /** {@inheritDoc ArtifactStore.list} */
  async *list(): AsyncIterable<StoredArtifact> {
    this.#assertOpen();
    const base = join(this.#root, 'sha256');
    for (const prefix of await fsCall('list the store', () => readdir(base))) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      const names = await fsCall('list the store', () => readdir(join(base, prefix)));
      for (const hex of names) {
        if (!HEX.test(hex) || !hex.startsWith(prefix)) continue;
        const stats = await statOrUndefined(join(base, prefix, hex));
        if (!stats) continue; // deleted meanwhile
        yield {
          digest: `sha256:${hex}`,
          size: Number(stats.size),
          modifiedAt: new Date(Number(stats.mtimeMs)),
          revision: revisionOf(stats),
        };
      }
    }
  }

  /**
   * {@inheritDoc ArtifactStore.deleteIfUnchanged}
   *
   * There is no conditional unlink: the file is first renamed aside (so a put of the same
   * content from now on publishes a new file), then its revision is checked on the aside
   * name; when a put refreshed it before the rename, it is linked back. Between the rename and
   * the link back (microseconds) a reader would not find it.
   */
  async deleteIfUnchanged(artifact: StoredArtifact): Promise<boolean> {
    this.#assertOpen();
    const hex = digestHex(artifact.digest);
    const finalPath = this.#path(hex);
    const aside = join(this.#tempDir, `${hex}.${randomUUID()}${ASIDE_SUFFIX}`);
    return fsCall('delete', async () => {
      try {
        await rename(finalPath, aside);
      } catch (error) {
        if (errorCode(error) === 'ENOENT') return false;
        throw error;
      }
      try {
        const stats = await stat(aside, { bigint: true });
        if (revisionOf(stats) === artifact.revision) return true;
        await restore(aside, finalPath);
        return false;
      } finally {
        await rm(aside, { force: true });
      }
    });
  }

  /** {@inheritDoc ArtifactStore.removeStaleUploads} */
  async removeStaleUploads(olderThan: Date): Promise<StaleUploadsRemoved> {
    this.#assertOpen();
    const removed = { count: 0, bytes: 0 };
    const names = await fsCall('list temp files', () => readdir(this.#tempDir));
    for (const name of names) {
      const path = join(this.#tempDir, name);
      const stats = await statOrUndefined(path);
      if (!stats) continue; // gone meanwhile
      // A file set aside keeps the artifact's mtime; its ctime is when the sweep renamed it.
      const changed = name.endsWith(ASIDE_SUFFIX) ? stats.ctimeMs : stats.mtimeMs;
      if (Number(changed) >= olderThan.getTime()) continue;
      if (name.endsWith(TEMP_SUFFIX)) {
        await rm(path, { force: true }).catch(() => undefined);
        removed.count += 1;
        removed.bytes += Number(stats.size);
      } else if (name.endsWith(ASIDE_SUFFIX)) {
        // A sweep that crashed midway: put the artifact back (the next sweep decides again).
        const hex = name.slice(0, 64);
        if (HEX.test(hex)) await restore(path, this.#path(hex)).catch(() => undefined);
        await rm(path, { force: true }).catch(() => undefined);
      }
    }
    return removed;
  }

  /** {@inheritDoc ArtifactStore.close} */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #path(hex: string): string {
    return join(this.#root, 'sha256', hex.slice(0, 2), hex);
  }

  /** Makes the verified temp file visible under its final name; false when it was there already. */
  async #publish(tempPath: string, finalPath: string): Promise<boolean> {
    return fsCall('publish', async () => {
      for (let attempt = 1; ; attempt++) {
        await mkdir(dirname(finalPath), { recursive: true });
        try {
          await link(tempPath, finalPath);
          break;
        } catch (error) {
          const code = errorCode(error);
          if (code !== 'EEXIST') {
            if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
              return this.#publishByRename(tempPath, finalPath);
            }
            throw error;
          }
        }
        // Stored already: refresh it, so a sweep that listed it before cannot delete it now.
        // ENOENT: a sweep took it away between our link and this; publish ours instead.
        try {
          await refresh(finalPath);
          return false;
        } catch (error) {
          if (errorCode(error) !== 'ENOENT' || attempt >= 5) throw error;
        }
      }
      await syncDirectory(dirname(finalPath));
      return true;
    });
  }

  /** No hard links on this filesystem: publish by rename (see the README). */
  async #publishByRename(tempPath: string, finalPath: string): Promise<boolean> {
    // Rename is atomic too, but two racing puts of the same content may then both report
    // created (documented in the README). Replacing the file counts as writing it again.
    const existed = await stat(finalPath).then(
      () => true,
      () => false,
    );
    await rename(tempPath, finalPath);
    await syncDirectory(dirname(finalPath));
    return !existed;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ArtifactStoreUnavailableError('the artifact store is closed');
  }
}

/** Sets a file's times to now (the process clock): written, or put again. */
async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now);
}

/**
 * Sets a stored artifact's mtime to now — and always later than it was, even within the same
 * millisecond, so its revision changes.
 */
async function refresh(path: string): Promise<void> {
  const before = await stat(path);
  const mtime = new Date(Math.max(Date.now(), Math.floor(before.mtimeMs) + 1));
  await utimes(path, mtime, mtime);
}

/** What changes when an artifact file is written or refreshed: its inode and mtime. */
function revisionOf(stats: { ino: bigint; mtimeNs: bigint }): string {
  return `${stats.ino}:${stats.mtimeNs}`;
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path, { bigint: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw toUnavailable('stat', error);
  }
}

/** Links an artifact set aside back to its name; EEXIST: a put published it meanwhile. */
async function restore(aside: string, finalPath: string): Promise<void> {
  await mkdir(dirname(finalPath), { recursive: true });
  try {
    await link(aside, finalPath);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
  }
}

async function writeFully(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

/** Makes a new directory entry durable (a crash after `put` returned keeps the artifact). */
async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } catch (error) {
    // Some filesystems refuse fsync on a directory; the rename/link itself is still atomic.
    if (errorCode(error) !== 'EINVAL' && errorCode(error) !== 'EISDIR') throw error;
  } finally {
    await directory.close();
  }
}

/** Runs a filesystem operation, turning system errors (ENOSPC, EACCES, EIO...) into Unavailable. */
async function fsCall<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toUnavailable(what, error);
  }
}

function toUnavailable(what: string, error: unknown): unknown {
  if (error instanceof ArtifactStoreError) return error;
  if (errorCode(error) === undefined) return error;
  return new ArtifactStoreUnavailableError(`artifact store: ${what} failed (${errorCode(error)})`, {
    cause: error,
  });
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
