import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertAllowed, canAccessWorkspace, type Caller } from './caller.js';
import { PermissionDeniedError } from '@skiff/errors';
import { can, PERMISSIONS, ROLES, type Permission } from './permissions.js';

describe('roles and permissions', () => {
  it('lets readers look but not change anything', () => {
    const allowed = PERMISSIONS.filter((permission) => can('reader', permission));
    expect(allowed).toEqual([
      'workspace:read',
      'model:read',
      'service:read',
      'service:logs',
      'compute:read',
    ]);
  });

  it('lets deployers change models and services, not workspaces or credentials', () => {
    for (const permission of [
      'model:register',
      'service:deploy',
      'service:update',
      'service:delete',
      'service:keys',
      'service:token',
    ] as const) {
      expect(can('deployer', permission)).toBe(true);
    }
    for (const permission of ['workspace:manage', 'credential:manage', 'audit:read'] as const) {
      expect(can('deployer', permission)).toBe(false);
    }
  });

  it('lets admins do everything people do, and nothing of the agent role', () => {
    const human = PERMISSIONS.filter((permission) => permission !== 'agent:report');
    expect(human.every((permission) => can('admin', permission))).toBe(true);
    expect(can('admin', 'agent:report')).toBe(false);
  });

  it('lets agents report and nothing else', () => {
    expect(PERMISSIONS.filter((permission) => can('agent', permission))).toEqual(['agent:report']);
    expect(can('deployer', 'agent:report')).toBe(false);
  });

  it('orders the people roles: a higher role holds every permission of a lower one', () => {
    const ladder = ROLES.filter((role) => role !== 'agent');
    fc.assert(
      fc.property(
        fc.constantFrom(...PERMISSIONS),
        fc.nat({ max: ladder.length - 1 }),
        fc.nat({ max: ladder.length - 1 }),
        (permission: Permission, i, j) => {
          const [lower, higher] = [ladder[Math.min(i, j)]!, ladder[Math.max(i, j)]!];
          if (can(lower, permission)) expect(can(higher, permission)).toBe(true);
        },
      ),
    );
  });

  it('confines a caller to its workspace unless it holds all workspaces', () => {
    const deployer: Caller = {
      via: 'team-credential',
      principal: 'x',
      workspace: 'team-a',
      role: 'deployer',
    };
    expect(canAccessWorkspace(deployer, 'team-b')).toBe(false);
    expect(() => assertAllowed(deployer, 'service:deploy', 'team-a')).not.toThrow();
    expect(() => assertAllowed(deployer, 'service:deploy', 'team-b')).toThrow(
      PermissionDeniedError,
    );
    expect(() => assertAllowed(deployer, 'credential:manage', 'team-a')).toThrow(
      /lacks permission/,
    );
    const operator: Caller = { ...deployer, workspace: '*', role: 'admin' };
    expect(() => assertAllowed(operator, 'workspace:manage', 'team-b')).not.toThrow();
  });
});
