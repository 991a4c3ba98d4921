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
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  type ArtifactReadStream,
  type ArtifactStore,
  type PutOptions,
  type PutResult,
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
    await store.#removeStaleTempFiles(options.staleTempAfterMs ?? DAY_MS);
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
      await mkdir(dirname(finalPath), { recursive: true });
      try {
        await link(tempPath, finalPath);
      } catch (error) {
        const code = errorCode(error);
        if (code === 'EEXIST') return false;
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
        // No hard links on this filesystem: rename is atomic too, but two racing puts of the
        // same content may then both report created (documented in the README).
        const existed = await stat(finalPath).then(
          () => true,
          () => false,
        );
        await rename(tempPath, finalPath);
        await syncDirectory(dirname(finalPath));
        return !existed;
      }
      await syncDirectory(dirname(finalPath));
      return true;
    });
  }

  async #removeStaleTempFiles(olderThanMs: number): Promise<void> {
    const names = await fsCall('list temp files', () => readdir(this.#tempDir));
    const cutoff = Date.now() - olderThanMs;
    for (const name of names) {
      if (!name.endsWith(TEMP_SUFFIX)) continue;
      const path = join(this.#tempDir, name);
      const stats = await stat(path).catch(() => undefined);
      if (stats && stats.mtimeMs < cutoff) await rm(path, { force: true }).catch(() => undefined);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new ArtifactStoreUnavailableError('the artifact store is closed');
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
