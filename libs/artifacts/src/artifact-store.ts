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
  /**
   * Awaited once the bytes are hashed and verified, before they become visible under their
   * digest (or, when that content is stored already, before it is refreshed). A garbage
   * collector's marks are written here (the control plane pins the digest of an upload in
   * progress), so a blob is never visible before it is protected. Throwing fails the put and
   * stores nothing. Default: none.
   */
  beforePublish?: (digest: ArtifactDigest) => Promise<void>;
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

/** One stored artifact, as {@link ArtifactStore.list} reports it. */
export interface StoredArtifact {
  digest: ArtifactDigest;
  /** Bytes stored. */
  size: number;
  /**
   * When the artifact was written, or last put again: a put of content that is stored already
   * refreshes it, so a collector that decided from an older listing cannot delete it.
   */
  modifiedAt: Date;
  /** Opaque; changes whenever the artifact is written or put again. */
  revision: string;
}

/** What {@link ArtifactStore.removeStaleUploads} removed. */
export interface StaleUploadsRemoved {
  /** Partial uploads (temp files, temp or uncommitted blobs) removed. */
  count: number;
  /** Their bytes, as far as the backend reports them (uncommitted Azure blocks count 0). */
  bytes: number;
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
  /**
   * Every stored artifact, in no particular order; never an upload in progress. An artifact
   * stored or deleted while the listing runs may or may not be reported.
   */
  list(): AsyncIterable<StoredArtifact>;
  /**
   * Deletes the artifact `list` reported, unless it was written or put again since (its
   * `revision` changed): a garbage collector's sweep, safe against a concurrent put of the
   * same content. True when it was deleted; false when it changed or was gone.
   */
  deleteIfUnchanged(artifact: StoredArtifact): Promise<boolean>;
  /**
   * Removes what uploads that stopped before `olderThan` left behind (a crashed process, a
   * failed or abandoned put): temp files, temp blobs, uncommitted blocks. Never a stored
   * artifact. An upload that wrote nothing since `olderThan` counts as stopped and fails.
   */
  removeStaleUploads(olderThan: Date): Promise<StaleUploadsRemoved>;
  /** Releases resources; later calls throw `ArtifactStoreUnavailableError`. Idempotent. */
  close(): Promise<void>;
}
