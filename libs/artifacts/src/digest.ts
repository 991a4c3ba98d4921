import { createHash, type Hash } from 'node:crypto';
import { InvalidDigestError } from './errors.js';

/** A content address: `"sha256:<64 lowercase hex>"`. */
export type ArtifactDigest = string;

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** True when `value` is a well-formed {@link ArtifactDigest} (lowercase hex only). */
export function isArtifactDigest(value: unknown): value is ArtifactDigest {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

/**
 * The 64 hex characters of a digest, after checking its form. Every store method validates
 * its digest argument through this, so a malformed one can never become a path or blob name.
 *
 * @throws InvalidDigestError when `digest` is not `sha256:<64 lowercase hex>`.
 */
export function digestHex(digest: ArtifactDigest): string {
  if (!isArtifactDigest(digest)) {
    throw new InvalidDigestError(
      `not an artifact digest (want "sha256:" and 64 lowercase hex): ${JSON.stringify(String(digest)).slice(0, 100)}`,
    );
  }
  return digest.slice('sha256:'.length);
}

/** The digest of bytes already in memory; for small artifacts and tests. */
export function sha256Digest(bytes: Uint8Array | string): ArtifactDigest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Hashes and counts bytes as they stream past, for callers that compute a digest while they
 * send (e.g. a client uploading a model) or verify one while they read.
 */
export class ArtifactHasher {
  readonly #hash: Hash = createHash('sha256');
  #size = 0;
  #digest: ArtifactDigest | undefined;

  /** Adds `chunk`. Throws once {@link ArtifactHasher.digest} has been called. */
  update(chunk: Uint8Array): this {
    if (this.#digest !== undefined) throw new Error('ArtifactHasher: digest() was called already');
    this.#hash.update(chunk);
    this.#size += chunk.byteLength;
    return this;
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.#size;
  }

  /** The digest of everything given to {@link ArtifactHasher.update}; idempotent. */
  digest(): ArtifactDigest {
    this.#digest ??= `sha256:${this.#hash.digest('hex')}`;
    return this.#digest;
  }
}
