import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '@skiff/errors';
import type { CredentialResolver, StoredTeamCredential } from '@skiff/auth';
import type { Redis } from 'ioredis';
import { DELETE, mutateJson, UNCHANGED } from './cas.js';
import { parseRecord } from './json.js';
import { keys } from './keys.js';
import type { CredentialRecord, WorkspaceRecord } from './records.js';
import { guarded } from './redis.js';

/** Workspaces (teams). */
export class WorkspaceStore {
  constructor(private readonly redis: Redis) {}

  /** @throws AlreadyExistsError */
  async create(record: Omit<WorkspaceRecord, 'revision'>): Promise<WorkspaceRecord> {
    return guarded(async () => {
      let existed = false;
      const stored = await mutateJson<WorkspaceRecord>(
        this.redis,
        keys.workspaces(),
        record.name,
        (current) => {
          if (current) {
            existed = true;
            return UNCHANGED;
          }
          return { ...record, revision: 0 };
        },
      );
      if (existed || !stored)
        throw new AlreadyExistsError(`workspace '${record.name}' already exists`);
      return stored;
    });
  }

  async get(name: string): Promise<WorkspaceRecord | undefined> {
    return guarded(async () => {
      const raw = await this.redis.hget(keys.workspaces(), name);
      return raw === null ? undefined : parseRecord<WorkspaceRecord>(raw, 'workspace');
    });
  }

  /** @throws NotFoundError */
  async require(name: string): Promise<WorkspaceRecord> {
    const found = await this.get(name);
    if (!found) throw new NotFoundError(`workspace '${name}' not found`);
    return found;
  }

  async list(): Promise<WorkspaceRecord[]> {
    return guarded(async () => {
      const all = await this.redis.hvals(keys.workspaces());
      return all.map((raw) => parseRecord<WorkspaceRecord>(raw, 'workspace')).sort(byName);
    });
  }

  /**
   * Deletes a workspace that holds no services.
   * @throws NotFoundError, FailedPreconditionError
   */
  async delete(name: string): Promise<void> {
    await guarded(async () => {
      if ((await this.redis.hlen(keys.services(name))) > 0) {
        throw new FailedPreconditionError(
          `workspace '${name}' still has webservices; delete them first`,
        );
      }
      let found = false;
      await mutateJson<WorkspaceRecord>(this.redis, keys.workspaces(), name, (current) => {
        found = current !== undefined;
        return current ? DELETE : UNCHANGED;
      });
      if (!found) throw new NotFoundError(`workspace '${name}' not found`);
    });
  }
}

/** Team API credentials; also the auth lib's {@link CredentialResolver}. */
export class CredentialStore implements CredentialResolver {
  constructor(private readonly redis: Redis) {}

  async save(record: CredentialRecord): Promise<void> {
    await guarded(async () => {
      const { id, workspace } = record.credential;
      await this.redis
        .multi()
        .hset(keys.credentials(), id, JSON.stringify(record))
        .sadd(keys.workspaceCredentials(workspace), id)
        .exec();
    });
  }

  async get(id: string): Promise<CredentialRecord | undefined> {
    return guarded(async () => {
      const raw = await this.redis.hget(keys.credentials(), id);
      return raw === null ? undefined : parseRecord<CredentialRecord>(raw, 'credential');
    });
  }

  /** {@link CredentialResolver.lookup} */
  async lookup(id: string): Promise<StoredTeamCredential | undefined> {
    return (await this.get(id))?.credential;
  }

  async listByWorkspace(workspace: string): Promise<CredentialRecord[]> {
    return guarded(async () => {
      const ids = await this.redis.smembers(keys.workspaceCredentials(workspace));
      if (ids.length === 0) return [];
      const raws = await this.redis.hmget(keys.credentials(), ...ids);
      return raws
        .filter((raw): raw is string => raw !== null)
        .map((raw) => parseRecord<CredentialRecord>(raw, 'credential'))
        .sort((a, b) => a.credential.createdAt.localeCompare(b.credential.createdAt));
    });
  }
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name.localeCompare(b.name);
}
