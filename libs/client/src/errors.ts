import { type Metadata, status, type ServiceError } from '@grpc/grpc-js';

/** Name of a gRPC status code, e.g. `NOT_FOUND`. */
export type StatusName = keyof typeof status;

/** Metadata key in which the control plane names the request field an error is about. */
const FIELD_KEY = 'skiff-field';
/** Metadata key carrying the control plane's request id (also in its logs). */
const REQUEST_ID_KEY = 'x-request-id';

/** What a {@link SkiffApiError} is made from. */
export interface SkiffApiErrorInit {
  /** Numeric gRPC status code. */
  readonly status: number;
  /** The server's message, written for the caller. */
  readonly details: string;
  /** The request field the error is about (`skiff-field` trailing metadata), when named. */
  readonly field?: string | undefined;
  /** The control plane's request id, for finding the call in its logs. */
  readonly requestId?: string | undefined;
  /** The underlying error (a grpc-js ServiceError, or what failed locally). */
  readonly cause?: unknown;
}

/**
 * The one error type every call of a {@link SkiffClient} rejects with: what the control plane
 * answered (or, for a connection that never came up, `UNAVAILABLE`), with the status code as a
 * name and a number, the server's message and, when the server named one, the request field.
 */
export class SkiffApiError extends Error {
  /** Status name, e.g. `NOT_FOUND`, `INVALID_ARGUMENT`. */
  readonly code: StatusName;
  /** Numeric gRPC status code, e.g. 5 for `NOT_FOUND`. */
  readonly status: number;
  /** The server's message, without the `5 NOT_FOUND:` prefix grpc-js adds. */
  readonly details: string;
  /** The request field the error is about, e.g. `spec.deployment_config.namespace`. */
  readonly field: string | undefined;
  /** The control plane's request id of the call, when it sent one. */
  readonly requestId: string | undefined;

  constructor(init: SkiffApiErrorInit) {
    const code = statusName(init.status);
    super(`${code}: ${init.details}`, init.cause === undefined ? {} : { cause: init.cause });
    this.name = 'SkiffApiError';
    this.code = code;
    this.status = init.status;
    this.details = init.details;
    this.field = init.field;
    this.requestId = init.requestId;
  }
}

/** The status name of a numeric code; unknown numbers map to `UNKNOWN`. */
export function statusName(code: number): StatusName {
  const name = (status as unknown as Record<number, string | undefined>)[code];
  return name !== undefined && name in status ? (name as StatusName) : 'UNKNOWN';
}

function first(metadata: Metadata | undefined, key: string): string | undefined {
  const value = metadata?.get(key)[0];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === 'number' &&
    'details' in error
  );
}

/**
 * Converts what a grpc-js call failed with into a {@link SkiffApiError}; other errors (a local
 * file that could not be read while uploading, say) are returned unchanged.
 */
export function toApiError(error: unknown): unknown {
  if (error instanceof SkiffApiError || !isServiceError(error)) return error;
  return new SkiffApiError({
    status: error.code,
    details: error.details,
    field: first(error.metadata, FIELD_KEY),
    requestId: first(error.metadata, REQUEST_ID_KEY),
    cause: error,
  });
}
