// Errors in the shape of the API server's metav1.Status, so that @kubernetes/client-node throws
// ApiException with the same code and body as against a real cluster.
import type { JsonObject } from './json.js';

/** One reason a write was refused (metav1.StatusCause). */
export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field: string;
}

/** metav1.StatusDetails. */
export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

/** The identity of a resource type as Status messages spell it. */
export interface ResourceName {
  readonly group: string;
  readonly plural: string;
  readonly kind: string;
}

/** An API failure: serialized as a Status object with `code` as the HTTP status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  /** The Status body the real server sends. */
  toStatus(): JsonObject {
    const status: JsonObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status['details'] = { ...this.details };
    return status;
  }
}

/** `deployments.apps` / `pods`: how the API names a resource in messages. */
export function qualifiedResource(resource: ResourceName): string {
  return resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
}

function details(resource: ResourceName, name: string): StatusDetails {
  return { name, group: resource.group, kind: resource.plural };
}

/** 404 NotFound. */
export function notFound(resource: ResourceName, name: string): ApiError {
  return new ApiError(
    404,
    'NotFound',
    `${qualifiedResource(resource)} "${name}" not found`,
    details(resource, name),
  );
}

/** 409 AlreadyExists (create of an existing name). */
export function alreadyExists(resource: ResourceName, name: string): ApiError {
  return new ApiError(
    409,
    'AlreadyExists',
    `${qualifiedResource(resource)} "${name}" already exists`,
    details(resource, name),
  );
}

/** 409 Conflict (a write with a stale resourceVersion). */
export function conflict(resource: ResourceName, name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    details(resource, name),
  );
}

/** 422 Invalid, with one cause per problem. */
export function invalid(
  resource: ResourceName,
  name: string,
  causes: readonly StatusCause[],
): ApiError {
  const kind = resource.group ? `${resource.kind}.${resource.group}` : resource.kind;
  const listed = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const text = listed.length === 1 ? (listed[0] ?? '') : `[${listed.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${text}`, {
    name,
    group: resource.group,
    kind: resource.kind,
    causes,
  });
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** 410 Gone (reason Expired): a resourceVersion or continue token older than the history kept. */
export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}
