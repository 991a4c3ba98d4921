import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import { SnapshotError } from './errors.js';
import { walkTree, type TreeFile } from './file-tree.js';

/** A file that goes into a project snapshot. */
export type SnapshotEntry = TreeFile;

/** A `sha256:<64 lowercase hex>` digest. */
export type Sha256Digest = `sha256:${string}`;

/** What `writeSnapshot` produced. */
export interface SnapshotResult {
  /** sha256 of the zip's bytes. */
  readonly digest: Sha256Digest;
  /** Size of the zip in bytes. */
  readonly size: number;
  /** Number of files in the zip. */
  readonly files: number;
}

/** How a snapshot is written. */
export interface SnapshotOptions {
  /**
   * Deflate the entries; default true. Deflate output is reproducible for one zlib build;
   * pass false (entries stored) when the bytes must match across Node.js/zlib builds too.
   */
  readonly compress?: boolean;
  /**
   * Called when the zip starts reading a file (in path order), e.g. to report upload progress.
   * Files are read one at a time, so this also shows how far the snapshot has got.
   */
  readonly onFile?: (entry: SnapshotEntry, index: number) => void;
}

const REGULAR_FILE = 0o100644;
const EXECUTABLE_FILE = 0o100755;
// zlib's default, stated so that a change of yazl's default cannot change the bytes.
const DEFLATE_LEVEL = 6;

/**
 * Lists the files a snapshot of `dir` holds, sorted by path: everything under `dir` except what
 * `.amlignore` files exclude (in a directory without `.amlignore`, its `.gitignore`), with
 * git's semantics (nested files apply relative to their directory, negations, directory
 * patterns, case-sensitive), and except every `.git` entry. Symlinks: see `walkTree`.
 *
 * @throws SnapshotError when `dir` is not a directory or holds a link leaving it, a broken
 *   link or a link cycle.
 */
export async function listSnapshotFiles(dir: string): Promise<SnapshotEntry[]> {
  return walkTree(dir, { applyIgnoreFiles: true, skipGit: true });
}

/**
 * Streams a deterministic zip of `dir` into `output` and returns its digest: entries sorted
 * by path, POSIX separators, no directory entries, every timestamp 1980-01-01 00:00, mode
 * 0644 or 0755 (only the executable bit is kept), no extra fields, no comments. The same
 * files give the same bytes whatever their mtimes, owners or creation order. Files are read
 * one at a time and never held in memory; `output` is ended when the zip is complete.
 *
 * @throws SnapshotError for the tree errors of `listSnapshotFiles`, a path a zip cannot
 *   hold, or a file that changed size while it was read.
 */
export async function writeSnapshot(
  dir: string,
  output: Writable,
  options: SnapshotOptions = {},
): Promise<SnapshotResult> {
  const entries = await listSnapshotFiles(dir);
  // 1980-01-01 00:00, the earliest time a zip (DOS) timestamp can hold. Built from local-time
  // components, and for each snapshot, because yazl encodes DOS times with local-time getters:
  // this way the stored fields are 1980-01-01 00:00 in whatever time zone is current.
  const mtime = new Date(1980, 0, 1, 0, 0, 0);
  const zip = new ZipFile();
  const zipOutput = zip.outputStream as Readable;
  zip.on('error', (error: unknown) => zipOutput.destroy(asSnapshotError(error)));
  entries.forEach((entry, index) =>
    addEntry(zip, entry, { mtime, compress: options.compress ?? true }, () =>
      options.onFile?.(entry, index),
    ),
  );
  zip.end();

  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(zipOutput, meter, output);
  return { digest: `sha256:${hash.digest('hex')}`, size, files: entries.length };
}

/**
 * The digest `writeSnapshot` would return for `dir`, computed without keeping the zip.
 *
 * @throws SnapshotError as `writeSnapshot` does.
 */
export async function snapshotDigest(
  dir: string,
  options: SnapshotOptions = {},
): Promise<SnapshotResult> {
  const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  return writeSnapshot(dir, discard, options);
}

function addEntry(
  zip: ZipFile,
  entry: SnapshotEntry,
  { mtime, compress }: { mtime: Date; compress: boolean },
  onStart: () => void,
): void {
  if (entry.path.includes('\\') || /^[a-zA-Z]:/.test(entry.path)) {
    throw new SnapshotError(
      `cannot store ${JSON.stringify(entry.path)}: zip paths cannot contain a backslash or start with a drive letter`,
    );
  }
  const options = {
    mtime,
    forceDosTimestamp: true,
    mode: entry.executable ? EXECUTABLE_FILE : REGULAR_FILE,
    compress,
    ...(compress ? { compressionLevel: DEFLATE_LEVEL } : {}),
    size: entry.size,
  };
  zip.addReadStreamLazy(entry.path, options, (callback) => {
    try {
      onStart();
    } catch (error) {
      zip.emit('error', error);
      return;
    }
    const checked = new SizeCheck(entry);
    const source = createReadStream(entry.sourcePath);
    source.on('error', (error) =>
      zip.emit(
        'error',
        new SnapshotError(`cannot read ${entry.path}: ${error.message}`, { cause: error }),
      ),
    );
    checked.on('error', (error) => {
      source.destroy();
      zip.emit('error', error);
    });
    callback(null, source.pipe(checked));
  });
}

// Fails with the file's name when it is not the size it had when listed: a file that changes
// while the snapshot is written would otherwise give a zip that matches no state of the tree.
class SizeCheck extends Transform {
  private seen = 0;

  constructor(private readonly entry: SnapshotEntry) {
    super();
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null, data?: Buffer) => void,
  ): void {
    this.seen += chunk.length;
    callback(this.seen > this.entry.size ? this.changed() : null, chunk);
  }

  override _flush(callback: (error?: Error | null) => void): void {
    callback(this.seen === this.entry.size ? null : this.changed());
  }

  private changed(): SnapshotError {
    return new SnapshotError(
      `${this.entry.path} changed while the snapshot was written (listed with ${this.entry.size} bytes); retry when it is stable`,
    );
  }
}

function asSnapshotError(error: unknown): SnapshotError {
  if (error instanceof SnapshotError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SnapshotError(`cannot write the snapshot: ${message}`, { cause: error });
}
