import { NotFoundError } from '@skiff/errors';
import type { Redis } from 'ioredis';
import { mutateJson, type Mutator } from './cas.js';
import { parseRecord } from './json.js';
import { keys } from './keys.js';
import type { ServiceRecord } from './records.js';
import { guarded } from './redis.js';

/** Webservices of each workspace: desired spec, generations, observed state. */
export class ServiceStore {
  constructor(private readonly redis: Redis) {}

  async get(workspace: string, name: string): Promise<ServiceRecord | undefined> {
    return guarded(async () => {
      const raw = await this.redis.hget(keys.services(workspace), name);
      return raw === null ? undefined : parseRecord<ServiceRecord>(raw, 'webservice');
    });
  }

  /** @throws NotFoundError */
  async require(workspace: string, name: string): Promise<ServiceRecord> {
    const found = await this.get(workspace, name);
    if (!found) throw new NotFoundError(`webservice '${name}' not found`);
    return found;
  }

  async list(workspace: string): Promise<ServiceRecord[]> {
    return guarded(async () => {
      const all = await this.redis.hvals(keys.services(workspace));
      return all
        .map((raw) => parseRecord<ServiceRecord>(raw, 'webservice'))
        .sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  /**
   * Read-modify-write of one service with optimistic concurrency (see {@link mutateJson});
   * `mutate` may run several times and must not have side effects.
   */
  async mutate(
    workspace: string,
    name: string,
    mutate: Mutator<ServiceRecord>,
  ): Promise<ServiceRecord | undefined> {
    return guarded(() => mutateJson(this.redis, keys.services(workspace), name, mutate));
  }

  /** Removes the service and everything kept about it (events, logs, replica reports). */
  async purge(workspace: string, name: string): Promise<void> {
    await guarded(async () => {
      await this.redis
        .multi()
        .hdel(keys.services(workspace), name)
        .unlink(
          keys.serviceEvents(workspace, name),
          keys.serviceEventSeq(workspace, name),
          keys.serviceLogs(workspace, name),
          keys.serviceReplicas(workspace, name),
        )
        .exec();
    });
  }
}
