import { randomUUID } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { ALL_WORKSPACES, canAccessWorkspace, requireCaller, type Caller } from '@skiff/auth';
import { NotFoundError, PermissionDeniedError } from '@skiff/errors';
import type { Logger } from 'pino';
import { PLATFORM_ADMIN_METHODS } from '../permissions.js';

/** What every handler knows about the call it serves. */
export interface RequestContext {
  readonly caller: Caller;
  readonly requestId: string;
  readonly method: string;
  readonly log: Logger;
  /** Aborted when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
  /** What the call acted on, for the audit log (set by the handler). */
  target: string;
  /** The workspace of the call, for the audit log (set by {@link scopeWorkspace}). */
  workspace: string;
}

/** The caller's `x-request-id` when it is sane, else a new id. */
export function requestIdOf(metadata: Metadata): string {
  const given = metadata.get('x-request-id')[0];
  return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
}

/** Builds the context of one call (the auth interceptor has resolved the caller already). */
export function createContext(
  call: { metadata: Metadata; cancelled?: boolean; on(event: 'cancelled', l: () => void): unknown },
  method: string,
  log: Logger,
): RequestContext {
  const caller = requireCaller(call);
  const requestId = requestIdOf(call.metadata);
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort());
  return {
    caller,
    requestId,
    method,
    log: log.child({ requestId, method, principal: caller.principal }),
    signal: controller.signal,
    target: '',
    workspace: caller.workspace === ALL_WORKSPACES ? '' : caller.workspace,
  };
}

/**
 * Refuses a method of {@link PLATFORM_ADMIN_METHODS} to anyone but the platform admin. The
 * role check (the auth interceptor) passes a workspace's admin; this is the second half, and
 * it runs before the request names anything, so the refusal is the same for every name.
 * @throws PermissionDeniedError
 */
export function requirePlatformScope(context: RequestContext): void {
  if (PLATFORM_ADMIN_METHODS.has(context.method) && context.caller.workspace !== ALL_WORKSPACES) {
    throw new PermissionDeniedError(
      `${context.method.split('/').pop() ?? context.method}: only the platform admin may call this`,
    );
  }
}

/**
 * The workspace a request acts in: the one it names, or the caller's own when it names none.
 * A workspace the caller may not enter is reported exactly like one that does not exist, so
 * no caller learns another team's names.
 * @throws NotFoundError
 */
export function scopeWorkspace(context: RequestContext, requested: string): string {
  const workspace =
    requested === '' && context.caller.workspace !== ALL_WORKSPACES
      ? context.caller.workspace
      : requested;
  if (workspace === '') {
    throw new NotFoundError("workspace '' not found: name one (--workspace or SKIFF_WORKSPACE)", {
      field: 'workspace',
    });
  }
  if (!canAccessWorkspace(context.caller, workspace)) {
    throw new NotFoundError(`workspace '${workspace}' not found`, { field: 'workspace' });
  }
  context.workspace = workspace;
  return workspace;
}
