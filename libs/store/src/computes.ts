import { AlreadyExistsError, NotFoundError } from '@skiff/errors';
import type { Redis } from 'ioredis';
import { DELETE, mutateJson, UNCHANGED } from './cas.js';
import { parseRecord } from './json.js';
import { keys } from './keys.js';
import type { ComputeRecord } from './records.js';
import { guarded } from './redis.js';

/** Compute targets of each workspace. */
export class ComputeStore {
  constructor(private readonly redis: Redis) {}

  /** @throws AlreadyExistsError */
  async attach(record: Omit<ComputeRecord, 'revision'>): Promise<ComputeRecord> {
    return guarded(async () => {
      let existed = false;
      const stored = await mutateJson<ComputeRecord>(
        this.redis,
        keys.computes(record.workspace),
        record.name,
        (current) => {
          existed = current !== undefined;
          return current ? UNCHANGED : { ...record, revision: 0 };
        },
      );
      if (existed || !stored) {
        throw new AlreadyExistsError(`compute target '${record.name}' already exists`);
      }
      return stored;
    });
  }

  async get(workspace: string, name: string): Promise<ComputeRecord | undefined> {
    return guarded(async () => {
      const raw = await this.redis.hget(keys.computes(workspace), name);
      return raw === null ? undefined : parseRecord<ComputeRecord>(raw, 'compute target');
    });
  }

  /** @throws NotFoundError */
  async require(workspace: string, name: string): Promise<ComputeRecord> {
    const found = await this.get(workspace, name);
    if (!found) throw new NotFoundError(`compute target '${name}' not found`);
    return found;
  }

  async list(workspace: string): Promise<ComputeRecord[]> {
    return guarded(async () => {
      const all = await this.redis.hvals(keys.computes(workspace));
      return all
        .map((raw) => parseRecord<ComputeRecord>(raw, 'compute target'))
        .sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  /** @throws NotFoundError */
  async detach(workspace: string, name: string): Promise<void> {
    await guarded(async () => {
      let found = false;
      await mutateJson<ComputeRecord>(this.redis, keys.computes(workspace), name, (current) => {
        found = current !== undefined;
        return current ? DELETE : UNCHANGED;
      });
      if (!found) throw new NotFoundError(`compute target '${name}' not found`);
    });
  }
}
