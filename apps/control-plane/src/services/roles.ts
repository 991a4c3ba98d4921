import { InvalidArgumentError } from '@skiff/errors';
import { Role as ProtoRole } from '@skiff/proto';
import type { Role } from '@skiff/auth';

const TO_PROTO: Record<Role, ProtoRole> = {
  reader: ProtoRole.ROLE_READER,
  deployer: ProtoRole.ROLE_DEPLOYER,
  admin: ProtoRole.ROLE_ADMIN,
  agent: ProtoRole.ROLE_AGENT,
};

/** The API's role enum for a stored role. */
export function roleToProto(role: Role): ProtoRole {
  return TO_PROTO[role];
}

/** The stored role for the API's enum. @throws InvalidArgumentError naming the field */
export function roleFromProto(role: ProtoRole, field = 'role'): Role {
  const found = (Object.entries(TO_PROTO) as [Role, ProtoRole][]).find(
    ([, value]) => value === role,
  );
  if (!found) {
    throw new InvalidArgumentError(
      `${field}: expected ROLE_READER, ROLE_DEPLOYER, ROLE_ADMIN or ROLE_AGENT`,
      { field },
    );
  }
  return found[0];
}
