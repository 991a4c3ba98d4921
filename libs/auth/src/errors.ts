/**
 * Domain errors of `@skiff/auth`. They carry a `cause` for logs and never a secret; the gRPC
 * status code is chosen at the server edge (see `createAuthInterceptor`), not here.
 */

/** Options shared by every auth error. */
export interface AuthErrorOptions {
  /** The underlying failure, kept for logs; never shown to the caller. */
  readonly cause?: unknown;
}

/** Base class of every error this library throws on purpose. */
export abstract class AuthError extends Error {
  constructor(message: string, options: AuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/**
 * The caller could not be identified: no credential, a malformed or unknown one, a wrong key,
 * an expired or foreign token, a revoked credential. The message is deliberately the same for
 * all of them; `cause` says which for the logs.
 */
export class UnauthenticatedError extends AuthError {}

/** The caller is known but its role lacks the permission the operation needs. */
export class PermissionDeniedError extends AuthError {}

/**
 * Input to this library is unusable: a caller-chosen service key that is too short, a stored
 * record that does not parse, a configuration that would match every token.
 */
export class InvalidAuthInputError extends AuthError {}

/**
 * A sealed secret could not be opened: its master key id is unknown, or the ciphertext, nonce,
 * tag or the data it is bound to were changed. Either way the stored record cannot be trusted.
 */
export class SecretUnsealError extends AuthError {}
