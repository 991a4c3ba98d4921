/**
 * Domain errors of `@skiff/artifacts`. Each carries a `cause` for logs; the gRPC status code is
 * chosen at the server edge (suggested: NotFound → NOT_FOUND, DigestMismatch and InvalidDigest
 * → INVALID_ARGUMENT, TooLarge → RESOURCE_EXHAUSTED, Unavailable → UNAVAILABLE, Config →
 * FAILED_PRECONDITION at start-up).
 */

/** Options shared by every artifact store error. */
export interface ArtifactStoreErrorOptions {
  /** The underlying failure, kept for logs. */
  readonly cause?: unknown;
}

/** Base class of every error this library throws on purpose. */
export abstract class ArtifactStoreError extends Error {
  constructor(message: string, options: ArtifactStoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** No artifact is stored under the digest. */
export class ArtifactNotFoundError extends ArtifactStoreError {
  constructor(
    /** The digest that was asked for. */
    readonly digest: string,
    options: ArtifactStoreErrorOptions = {},
  ) {
    super(`artifact not found: ${digest}`, options);
  }
}

/**
 * Bytes do not hash to the digest they were meant to have: on `put` with `expectedDigest`
 * (nothing was stored), or on reading a stored artifact whose bytes changed at rest.
 */
export class DigestMismatchError extends ArtifactStoreError {
  constructor(
    /** The digest the bytes should have had. */
    readonly expected: string,
    /** The digest the bytes actually have. */
    readonly actual: string,
    options: ArtifactStoreErrorOptions = {},
  ) {
    super(`digest mismatch: expected ${expected}, got ${actual}`, options);
  }
}

/** A `put` received more bytes than its `maxBytes`; it stopped reading and stored nothing. */
export class ArtifactTooLargeError extends ArtifactStoreError {
  constructor(
    /** The limit that was exceeded, in bytes. */
    readonly maxBytes: number,
    options: ArtifactStoreErrorOptions = {},
  ) {
    super(`artifact exceeds the limit of ${maxBytes} bytes`, options);
  }
}

/**
 * The backing storage cannot be used right now: a network failure, a timeout, a refused
 * credential, a full or read-only disk, a closed store. Retrying later may succeed.
 */
export class ArtifactStoreUnavailableError extends ArtifactStoreError {}

/** A digest argument is not of the form `sha256:<64 lowercase hex>`. */
export class InvalidDigestError extends ArtifactStoreError {}

/** The store configuration is invalid; the message names the field. */
export class ArtifactStoreConfigError extends ArtifactStoreError {}
