/**
 * The auth-specific refinements of skiff's domain errors (`@skiff/errors`). Authentication and
 * authorization failures use `UnauthenticatedError` / `PermissionDeniedError` from there
 * directly, so every server edge maps them the same way.
 */
import {
  FailedPreconditionError,
  InvalidArgumentError,
  type SkiffErrorOptions,
} from '@skiff/errors';

/**
 * Input to this library is unusable: a caller-chosen service key that is too short, a stored
 * record that does not parse, a configuration that would match every token.
 */
export class InvalidAuthInputError extends InvalidArgumentError {
  constructor(message: string, options: SkiffErrorOptions = {}) {
    super(message, options);
  }
}

/**
 * A sealed secret could not be opened: its master key id is unknown, or the ciphertext, nonce,
 * tag or the data it is bound to were changed. Either way the stored record cannot be used
 * until an operator restores the master key or the record.
 */
export class SecretUnsealError extends FailedPreconditionError {
  constructor(message: string, options: SkiffErrorOptions = {}) {
    super(message, options);
  }
}
