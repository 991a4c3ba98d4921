/** Domain error classes shared by every lib and app; mapped to gRPC/HTTP only at the edges. */
export {
  SkiffError,
  InvalidArgumentError,
  NotFoundError,
  AlreadyExistsError,
  PermissionDeniedError,
  UnauthenticatedError,
  FailedPreconditionError,
  ResourceExhaustedError,
  UnavailableError,
  isErrorKind,
  type ErrorKind,
  type SkiffErrorOptions,
} from './errors.js';
