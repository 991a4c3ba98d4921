import {
  Metadata,
  ServerInterceptingCall,
  status as GrpcStatus,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { type Caller } from './caller.js';
import { type BearerAuthenticator } from './bearer.js';
import {
  PermissionDeniedError,
  SkiffError,
  UnauthenticatedError,
  type ErrorKind,
} from '@skiff/errors';
import { InvalidAuthInputError } from './errors.js';
import { can, isPermission, type Permission } from './permissions.js';

/**
 * Which permission each gRPC method needs, by full path (`/skiff.v1.WebserviceService/Deploy`).
 * A method missing from the map is denied (fail closed).
 */
export type MethodPermissions = Readonly<Record<string, Permission>>;

/** What {@link AuthInterceptorOptions.onRejected} receives, for logs and metrics. */
export interface AuthRejection {
  /** Full method path. */
  readonly method: string;
  /** The gRPC status sent. */
  readonly code: GrpcStatus;
  /** The domain error (with `cause`), or whatever the authenticator threw. */
  readonly error: unknown;
  /** The caller, when authentication succeeded and authorization failed. */
  readonly caller?: Caller;
}

/** Options of {@link createAuthInterceptor}. */
export interface AuthInterceptorOptions {
  /** Resolves the `authorization` metadata to a caller. */
  readonly authenticator: BearerAuthenticator;
  /** Permission per method; anything else is denied. */
  readonly methodPermissions: MethodPermissions;
  /**
   * Methods that skip authentication entirely (e.g. `/grpc.health.v1.Health/Check` for probes);
   * default none.
   */
  readonly publicMethods?: readonly string[];
  /** Called for every rejected call; default nothing. Never receives the credential itself. */
  readonly onRejected?: (rejection: AuthRejection) => void;
}

/**
 * Callers by the request `Metadata` object. grpc-js hands the very `Metadata` instance an
 * interceptor passes on to the handler as `call.metadata`, so keying on it ties a caller to
 * exactly one call without putting anything a client could forge into the metadata, and the
 * entry goes away with the call.
 */
const callers = new WeakMap<Metadata, Caller>();

/**
 * A grpc-js server interceptor (`new Server({ interceptors: [createAuthInterceptor(...)] })`)
 * that authenticates every call from its `authorization: Bearer ...` metadata and checks the
 * method's permission before the handler runs. It answers UNAUTHENTICATED when the caller
 * cannot be identified, PERMISSION_DENIED when its role lacks the permission or the method is
 * not in the map, and UNAVAILABLE when the authenticator fails for another reason (e.g. the
 * store is down). Handlers read the caller with {@link callerOf}; the `authorization` entry is
 * removed before they run, so it cannot end up in their logs.
 * @throws InvalidAuthInputError when the map names an unknown permission or a malformed path.
 */
export function createAuthInterceptor(options: AuthInterceptorOptions): ServerInterceptor {
  for (const [method, permission] of Object.entries(options.methodPermissions)) {
    if (!/^\/[^/]+\/[^/]+$/.test(method)) {
      throw new InvalidAuthInputError(
        `'${method}' is not a full method path (/package.Service/Method)`,
      );
    }
    if (!isPermission(permission)) {
      throw new InvalidAuthInputError(
        `'${method}' maps to unknown permission '${String(permission)}'`,
      );
    }
  }
  const publicMethods = new Set(options.publicMethods ?? []);
  const permissions = new Map(Object.entries(options.methodPermissions));

  const authorize = async (method: string, metadata: Metadata): Promise<Caller> => {
    const header = metadata.get('authorization');
    const value = header.length === 1 && typeof header[0] === 'string' ? header[0] : undefined;
    // Node's HTTP/2 (both ends) keeps `authorization` single-valued; refuse ambiguity anyway
    // rather than pick one, in case a proxy in front behaves differently.
    if (header.length > 1) throw new UnauthenticatedError('more than one authorization entry');
    const caller = await options.authenticator.authenticate(value);
    const permission = permissions.get(method);
    if (permission === undefined) {
      throw new CallerDenied(caller, new PermissionDeniedError(`method ${method} is not allowed`));
    }
    if (!can(caller.role, permission)) {
      throw new CallerDenied(
        caller,
        new PermissionDeniedError(`role '${caller.role}' lacks permission '${permission}'`),
      );
    }
    return caller;
  };

  return (descriptor, call) => {
    const method = descriptor.path;
    if (publicMethods.has(method)) return new ServerInterceptingCall(call);
    const intercepted: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, passOn) => {
            authorize(method, metadata).then(
              (caller) => {
                metadata.remove('authorization');
                callers.set(metadata, caller);
                passOn(metadata);
              },
              (thrown: unknown) => {
                const denied = thrown instanceof CallerDenied ? thrown : undefined;
                const error = denied ? denied.error : thrown;
                const { code, details } = grpcStatusOf(error);
                options.onRejected?.({
                  method,
                  code,
                  error,
                  ...(denied ? { caller: denied.caller } : {}),
                });
                intercepted.sendStatus({ code, details, metadata: new Metadata() });
              },
            );
          },
        }),
    });
    return intercepted;
  };
}

/**
 * The caller the auth interceptor resolved for this call, or `undefined` when the call did not
 * pass through it (a public method, or a server built without the interceptor).
 * @param call - any grpc-js server call (`ServerUnaryCall`, streams): anything with `metadata`.
 */
export function callerOf(call: { readonly metadata: Metadata }): Caller | undefined {
  return callers.get(call.metadata);
}

/**
 * Like {@link callerOf}, for handlers that must never run unauthenticated.
 * @throws UnauthenticatedError when the call carries no resolved caller.
 */
export function requireCaller(call: { readonly metadata: Metadata }): Caller {
  const caller = callerOf(call);
  if (!caller) throw new UnauthenticatedError('call was not authenticated');
  return caller;
}

/** gRPC status per domain error kind (ARCHITECTURE.md, "Boundaries"). */
const STATUS_BY_KIND: Readonly<Record<ErrorKind, GrpcStatus>> = {
  'invalid-argument': GrpcStatus.INVALID_ARGUMENT,
  'not-found': GrpcStatus.NOT_FOUND,
  'already-exists': GrpcStatus.ALREADY_EXISTS,
  'permission-denied': GrpcStatus.PERMISSION_DENIED,
  unauthenticated: GrpcStatus.UNAUTHENTICATED,
  'failed-precondition': GrpcStatus.FAILED_PRECONDITION,
  'resource-exhausted': GrpcStatus.RESOURCE_EXHAUSTED,
  unavailable: GrpcStatus.UNAVAILABLE,
};

/**
 * The gRPC status the interceptor sends for what authentication threw: a skiff domain error
 * maps by its kind with its (caller-safe) message; anything else, e.g. a store that is down,
 * becomes UNAVAILABLE with a generic message.
 */
export function grpcStatusOf(error: unknown): { code: GrpcStatus; details: string } {
  if (error instanceof SkiffError)
    return { code: STATUS_BY_KIND[error.kind], details: error.message };
  return { code: GrpcStatus.UNAVAILABLE, details: 'authentication is unavailable' };
}

/** Carries the caller along with an authorization failure, for `onRejected`. */
class CallerDenied extends Error {
  constructor(
    readonly caller: Caller,
    readonly error: PermissionDeniedError,
  ) {
    super(error.message, { cause: error });
  }
}
