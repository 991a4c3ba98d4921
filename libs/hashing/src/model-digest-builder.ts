import { createHash, type Hash } from 'node:crypto';
import { type Sha256Digest } from './snapshot.js';

// The one definition of the model digest's byte layout (modelDigest uses this builder too).
// Bump the version whenever the layout changes, so old and new digests can never collide.
const LAYOUT_HEADER = 'skiff-model-digest-v1\n';

/**
 * A tree given to {@link ModelDigestBuilder} that does not follow the rules: files out of
 * path order or repeated, a content longer or shorter than its declared size, a use after
 * `digest()`. The message says which file and what was wrong.
 */
export class ModelTreeError extends Error {
  override readonly name = 'ModelTreeError';
}

/**
 * The incremental form of `modelDigest`: the same bytes are hashed and the same digest comes
 * out, but the tree arrives as a sequence of calls instead of a directory on disk — e.g. a
 * model streamed over the network file by file. Call {@link ModelDigestBuilder.addFile} for
 * every file in the order of its path's UTF-8 bytes (the order `modelDigest` sorts in), each
 * followed by {@link ModelDigestBuilder.update} calls carrying exactly the declared number of
 * bytes, then {@link ModelDigestBuilder.digest}. Anything else throws {@link ModelTreeError},
 * because a digest over a differently shaped sequence would not be a model digest at all.
 */
export class ModelDigestBuilder {
  readonly #hash: Hash = createHash('sha256').update(LAYOUT_HEADER, 'utf8');
  #previousPath: Buffer | undefined;
  #currentPath = '';
  #remaining = 0;
  #fileCount = 0;
  #bytes = 0;
  #digest: Sha256Digest | undefined;

  /**
   * Starts the next file. `path` is the file's relative POSIX path inside the tree and must
   * sort strictly after the previous file's (by UTF-8 bytes), so no path appears twice.
   *
   * @throws ModelTreeError when the previous file is incomplete, `path` is empty or out of
   *   order, or `size` is not a non-negative safe integer.
   */
  addFile(path: string, size: number): this {
    this.#assertOpen();
    this.#assertComplete();
    if (path === '') throw new ModelTreeError('a file path must not be empty');
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new ModelTreeError(`${path}: size must be a non-negative integer, got ${size}`);
    }
    const name = Buffer.from(path, 'utf8');
    if (this.#previousPath !== undefined) {
      const order = Buffer.compare(this.#previousPath, name);
      if (order === 0) throw new ModelTreeError(`${path}: the same path appears twice`);
      if (order > 0) {
        throw new ModelTreeError(
          `${path}: out of order after ${this.#currentPath} (files must be sorted by the UTF-8 bytes of their paths)`,
        );
      }
    }
    this.#hash.update(uint64(name.length)).update(name).update(uint64(size));
    this.#previousPath = name;
    this.#currentPath = path;
    this.#remaining = size;
    this.#fileCount += 1;
    return this;
  }

  /**
   * Adds content of the current file.
   *
   * @throws ModelTreeError when no file was started or `chunk` goes past the declared size.
   */
  update(chunk: Uint8Array): this {
    this.#assertOpen();
    if (this.#fileCount === 0) throw new ModelTreeError('content arrived before any file');
    if (chunk.byteLength > this.#remaining) {
      throw new ModelTreeError(
        `${this.#currentPath}: more content than its declared size (${this.#remaining} bytes were left, ${chunk.byteLength} arrived)`,
      );
    }
    this.#hash.update(chunk);
    this.#remaining -= chunk.byteLength;
    this.#bytes += chunk.byteLength;
    return this;
  }

  /** Files started so far. */
  get fileCount(): number {
    return this.#fileCount;
  }

  /** Content bytes of all files so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes the current file still lacks (0 when it is complete). */
  get remaining(): number {
    return this.#remaining;
  }

  /**
   * The tree's digest, `sha256:<64 hex>`. Idempotent; afterwards the builder takes no more
   * files or content. A tree with no file has the digest of the header alone (modelDigest of
   * an empty directory).
   *
   * @throws ModelTreeError when the last file is incomplete.
   */
  digest(): Sha256Digest {
    if (this.#digest === undefined) {
      this.#assertComplete();
      this.#digest = `sha256:${this.#hash.digest('hex')}`;
    }
    return this.#digest;
  }

  #assertOpen(): void {
    if (this.#digest !== undefined) {
      throw new ModelTreeError('digest() was called already; the tree is closed');
    }
  }

  #assertComplete(): void {
    if (this.#remaining > 0) {
      throw new ModelTreeError(
        `${this.#currentPath}: ${this.#remaining} bytes short of its declared size`,
      );
    }
  }
}

function uint64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(value));
  return bytes;
}
