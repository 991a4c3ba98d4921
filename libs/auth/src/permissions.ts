/**
 * Roles of API credentials. `reader`, `deployer` and `admin` are people and pipelines, from
 * least to most privileged; `agent` is the machine role of the agents and routers of one
 * compute target, outside that ladder (it may report replicas and read routes, nothing else).
 */
export const ROLES = ['reader', 'deployer', 'admin', 'agent'] as const;

/** A role of a team API credential (or of a mapped Entra ID identity). */
export type Role = (typeof ROLES)[number];

/**
 * What `reader` may do: look, never change. `workspace:read` shows a member its own workspace
 * (name, default namespace, registry address; never a secret), which `skiff workspace show`
 * needs whatever the caller's role.
 */
const READER = [
  'workspace:read',
  'model:read',
  'service:read',
  'service:logs',
  'compute:read',
] as const;

/** What `deployer` adds: everything that changes models and services of its workspace. */
const DEPLOYER = [
  'model:register',
  'model:delete',
  'service:deploy',
  'service:update',
  'service:delete',
  'service:keys',
  'service:token',
] as const;

/** What `admin` adds: workspaces, credentials and the audit log. */
const ADMIN = ['workspace:manage', 'credential:manage', 'audit:read', 'compute:manage'] as const;

/** What `agent` may do: report replicas, logs and connectivity, fetch artifacts, read routes. */
const AGENT = ['agent:report'] as const;

/** Every permission, in table order. */
export const PERMISSIONS = [...READER, ...DEPLOYER, ...ADMIN, ...AGENT] as const;

/**
 * One operation class the gRPC API guards. `service:keys` covers `get_keys` and `regen_key`,
 * `service:token` covers `get_token`, `service:read` covers get/list/watch of services.
 */
export type Permission = (typeof PERMISSIONS)[number];

/** The role table: each role holds the permissions of the roles below it plus its own. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  reader: new Set<Permission>(READER),
  deployer: new Set<Permission>([...READER, ...DEPLOYER]),
  admin: new Set<Permission>([...READER, ...DEPLOYER, ...ADMIN]),
  agent: new Set<Permission>(AGENT),
};

/** Whether `role` holds `permission`. */
export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

/** Whether `value` names a {@link Role}. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether `value` names a {@link Permission}. */
export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value);
}
