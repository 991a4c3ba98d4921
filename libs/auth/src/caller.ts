import { PermissionDeniedError } from '@skiff/errors';
import { can, type Permission, type Role } from './permissions.js';

/** The workspace value of a credential that acts on every workspace (platform operators). */
export const ALL_WORKSPACES = '*';

/** An authenticated caller of the gRPC API. */
export interface Caller {
  /** How it authenticated. */
  readonly via: 'team-credential' | 'entra-id';
  /**
   * A stable id for logs and audit: the credential id, or `entra:<tid>/<oid|appid>`. Never a
   * secret.
   */
  readonly principal: string;
  /** The workspace it acts in, or {@link ALL_WORKSPACES}. */
  readonly workspace: string;
  readonly role: Role;
}

/** Whether `caller` may act in `workspace` at all (role aside). */
export function canAccessWorkspace(caller: Caller, workspace: string): boolean {
  return caller.workspace === ALL_WORKSPACES || caller.workspace === workspace;
}

/**
 * Throws unless `caller` may use `permission` in `workspace`. Handlers call this with the
 * workspace named in the request, which the interceptor cannot see (it runs before the message
 * is read).
 * @throws PermissionDeniedError
 */
export function assertAllowed(caller: Caller, permission: Permission, workspace: string): void {
  if (!canAccessWorkspace(caller, workspace)) {
    throw new PermissionDeniedError(`caller may not act in workspace '${workspace}'`);
  }
  if (!can(caller.role, permission)) {
    throw new PermissionDeniedError(`role '${caller.role}' lacks permission '${permission}'`);
  }
}
