/**
 * The kinds of failure the product distinguishes. Each maps to one gRPC status code at the
 * server edge (and to an HTTP status in the router); nothing below the edge knows about either.
 */
export type ErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'permission-denied'
  | 'unauthenticated'
  | 'failed-precondition'
  | 'resource-exhausted'
  | 'unavailable';

/** Options every domain error takes. */
export interface SkiffErrorOptions {
  /** The underlying error, kept for logs; never shown to API callers. */
  cause?: unknown;
  /** Field path the error is about, e.g. `spec.deployment_config.auto_scaler.min_replicas`. */
  field?: string;
}

/** Base class of skiff's domain errors. `message` is safe to show to the caller. */
export class SkiffError extends Error {
  readonly kind: ErrorKind;
  readonly field: string | undefined;

  constructor(kind: ErrorKind, message: string, options: SkiffErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.field = options.field;
  }
}

/** The request is malformed; `message` names the field and says what was expected. */
export class InvalidArgumentError extends SkiffError {
  /** Every problem found, when there were several (one line each). */
  readonly problems: readonly string[];
  constructor(message: string, options: SkiffErrorOptions & { problems?: readonly string[] } = {}) {
    super('invalid-argument', message, options);
    this.problems = options.problems ?? [message];
  }
}

/**
 * The object does not exist — or belongs to another workspace: the two are indistinguishable
 * on purpose, so a caller never learns another team's names.
 */
export class NotFoundError extends SkiffError {
  constructor(message: string, options: SkiffErrorOptions = {}) {
    super('not-found', message, options);
  }
}

/** The object exists already. */
export class AlreadyExistsError extends SkiffError {
  constructor(message: string, options: SkiffErrorOptions = {}) {
    super('already-exists', message, options);
  }
}

/** The caller is known but may not do this. */
export class PermissionDeniedError extends SkiffError {
  constructor(message: string, options: SkiffErrorOptions = {}) {
    super('permission-denied', message, options);
  }
}

/** The caller could not be identified. */
export class UnauthenticatedError extends SkiffError {
  constructor(message: string, options: SkiffErrorOptions = {}) {
    super('unauthenticated', message, options);
  }
}

/** The system is not in a state that allows this (e.g. deleting a model a service uses). */
export class FailedPreconditionError extends SkiffError {
  constructor(message: string, options: SkiffErrorOptions = {}) {
    super('failed-precondition', message, options);
  }
}

/** A limit was hit (upload size, model count). */
export class ResourceExhaustedError extends SkiffError {
  constructor(message: string, options: SkiffErrorOptions = {}) {
    super('resource-exhausted', message, options);
  }
}

/** A dependency (Redis, the artifact store) is unreachable; retrying later may work. */
export class UnavailableError extends SkiffError {
  constructor(message: string, options: SkiffErrorOptions = {}) {
    super('unavailable', message, options);
  }
}

/** Whether `error` is a skiff domain error of `kind`. */
export function isErrorKind(error: unknown, kind: ErrorKind): error is SkiffError {
  return error instanceof SkiffError && error.kind === kind;
}
