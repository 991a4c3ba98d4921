import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  ArtifactNotFoundError,
  ArtifactStoreUnavailableError,
  ArtifactTooLargeError,
  DigestMismatchError,
  InvalidDigestError,
} from '@skiff/artifacts';
import { SkiffError, type ErrorKind } from '@skiff/errors';

const CODES: Record<ErrorKind, status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  'already-exists': status.ALREADY_EXISTS,
  'permission-denied': status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  'failed-precondition': status.FAILED_PRECONDITION,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
};

/**
 * The artifact store's errors (its own classes, not SkiffErrors) as status code and a message
 * fit for the caller. Unavailability hides its text: it may name paths or storage accounts.
 */
function artifactStatus(error: unknown): { code: status; message: string } | undefined {
  if (error instanceof DigestMismatchError || error instanceof InvalidDigestError) {
    return { code: status.INVALID_ARGUMENT, message: error.message };
  }
  if (error instanceof ArtifactTooLargeError) {
    return { code: status.RESOURCE_EXHAUSTED, message: error.message };
  }
  if (error instanceof ArtifactNotFoundError) {
    return { code: status.NOT_FOUND, message: error.message };
  }
  if (error instanceof ArtifactStoreUnavailableError) {
    return {
      code: status.UNAVAILABLE,
      message: 'the artifact store is unavailable; retry later',
    };
  }
  return undefined;
}

/**
 * The gRPC error for a thrown value: domain errors keep their message (written for the
 * caller) and carry the field in `skiff-field` metadata; anything else is INTERNAL with a
 * generic message, because its text may hold internals (the full error goes to the log).
 */
export function toServiceError(error: unknown, requestId: string): ServiceError {
  const metadata = new Metadata();
  metadata.set('x-request-id', requestId);
  if (error instanceof SkiffError) {
    if (error.field) metadata.set('skiff-field', error.field);
    return Object.assign(new Error(error.message), {
      code: CODES[error.kind],
      details: error.message,
      metadata,
    });
  }
  const artifact = artifactStatus(error);
  if (artifact) {
    return Object.assign(new Error(artifact.message), {
      code: artifact.code,
      details: artifact.message,
      metadata,
    });
  }
  return Object.assign(new Error('internal error'), {
    code: status.INTERNAL,
    details: `internal error (request id ${requestId}); the control plane's log has the details`,
    metadata,
  });
}

/** Name of a status code, e.g. 'NOT_FOUND', for logs, metrics and the audit log. */
export function statusName(code: status): string {
  return status[code] ?? String(code);
}
