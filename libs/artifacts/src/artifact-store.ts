import { type ArtifactDigest } from './digest.js';

/** Options of {@link ArtifactStore.put}. */
export interface PutOptions {
  /** When given, the bytes must hash to it, else `DigestMismatchError` and nothing is stored. */
  expectedDigest?: ArtifactDigest;
  /**
   * Refuse (`ArtifactTooLargeError`) as soon as more bytes than this arrive; nothing is stored.
   * Default: no limit.
   */
  maxBytes?: number;
  /** Aborting stops the upload at once; `put` rejects with `signal.reason`, nothing is stored. */
  signal?: AbortSignal;
}

/** What {@link ArtifactStore.put} stored. */
export interface PutResult {
  /** The sha256 of the bytes received. */
  digest: ArtifactDigest;
  /** Number of bytes received. */
  size: number;
  /** False when it was stored already (dedup): of concurrent puts of one content, one is true. */
  created: boolean;
}

/** A stream of a stored artifact's bytes. */
export type ArtifactReadStream = NodeJS.ReadableStream & AsyncIterable<Uint8Array>;

/**
 * A content-addressed store of immutable byte sequences (model files, manifests, snapshot
 * zips), keyed by their sha256. Implementations: `FilesystemArtifactStore` (embedded default)
 * and `AzureBlobArtifactStore`. Every method validates its digest argument and throws
 * `InvalidDigestError` for a malformed one; storage failures surface as
 * `ArtifactStoreUnavailableError`.
 */
export interface ArtifactStore {
  /**
   * Streams `source` into the store. The bytes become visible under their digest only after
   * the whole stream arrived and passed `expectedDigest` / `maxBytes`; a stream that throws
   * midway, an abort, a mismatch or an oversize stores nothing. Never buffers the artifact.
   */
  put(source: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<PutResult>;
  /** Whether an artifact is stored under `digest`. */
  has(digest: ArtifactDigest): Promise<boolean>;
  /** The stored artifact's size; undefined when absent. */
  stat(digest: ArtifactDigest): Promise<{ size: number } | undefined>;
  /**
   * The artifact's bytes as a stream. `ArtifactNotFoundError` when absent. The stream's bytes
   * hash to `digest`: unless verification was turned off, a stream whose bytes turn out to
   * differ (corruption at rest) ends with `DigestMismatchError` instead of ending cleanly.
   */
  open(digest: ArtifactDigest): Promise<ArtifactReadStream>;
  /** Removes the artifact; true when it existed. Streams opened before may still finish. */
  delete(digest: ArtifactDigest): Promise<boolean>;
  /** Releases resources; later calls throw `ArtifactStoreUnavailableError`. Idempotent. */
  close(): Promise<void>;
}
