import { NotFoundError } from '@skiff/errors';
import type { Redis } from 'ioredis';
import { mutateJson, type DELETE, type UNCHANGED } from './cas.js';
import { parseRecord } from './json.js';
import { keys } from './keys.js';
import type { ServiceRecord } from './records.js';
import { guarded } from './redis.js';

/**
 * Removes a service at a generation, atomically: its record, its event stream, sequence
 * counters, logs and replica reports, remembering the generation it reached.
 * KEYS: services hash, generations hash, events, event-seq, logs, replicas, once-markers.
 * ARGV: name, generation.
 */
const PURGE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local generation = tonumber(ARGV[2])
if cjson.decode(raw)['generation'] ~= generation then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if generation > last then redis.call('HSET', KEYS[2], ARGV[1], generation) end
redis.call('UNLINK', KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
return 1
`;

type PurgeClient = Redis & {
  skiffPurgeService(
    services: string,
    generations: string,
    events: string,
    eventSeq: string,
    logs: string,
    replicas: string,
    onceMarkers: string,
    name: string,
    generation: number,
  ): Promise<number>;
};

/** What outlives a service's purge, for the next service of the same name. */
export interface ServiceHistory {
  /**
   * The highest generation a deleted service of this name reached (0: none). A new service of
   * the name continues above it, so its jobs never share an id with a finished job BullMQ
   * still keeps, and agents never mistake it for an old generation.
   */
  lastGeneration: number;
}

/** Decides a service's next record (see {@link ServiceStore.mutate}). */
export type ServiceMutator = (
  current: ServiceRecord | undefined,
  history: ServiceHistory,
) => ServiceRecord | typeof UNCHANGED | typeof DELETE;

/** Webservices of each workspace: desired spec, generations, observed state. */
export class ServiceStore {
  private readonly client: PurgeClient;

  constructor(private readonly redis: Redis) {
    this.client = redis as PurgeClient;
    if (typeof this.client.skiffPurgeService !== 'function') {
      redis.defineCommand('skiffPurgeService', { numberOfKeys: 7, lua: PURGE });
    }
  }

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
   * `mutate` may run several times and must not have side effects. It also gets the name's
   * history, read in the same instant and checked unchanged by the write.
   */
  async mutate(
    workspace: string,
    name: string,
    mutate: ServiceMutator,
  ): Promise<ServiceRecord | undefined> {
    return guarded(() =>
      mutateJson<ServiceRecord>(
        this.redis,
        keys.services(workspace),
        name,
        (current, lastGeneration) =>
          mutate(current, { lastGeneration: Number(lastGeneration ?? 0) }),
        { guardKey: keys.serviceGenerations(workspace) },
      ),
    );
  }

  /**
   * Removes the service and everything kept about it (events, logs, replica reports), keeping
   * only the generation it reached, so a service of the same name deployed later continues
   * above it. Returns false (and changes nothing) when the service is absent or no longer at
   * `generation`.
   */
  async purge(workspace: string, name: string, generation: number): Promise<boolean> {
    return guarded(async () => {
      const purged = await this.client.skiffPurgeService(
        keys.services(workspace),
        keys.serviceGenerations(workspace),
        keys.serviceEvents(workspace, name),
        keys.serviceEventSeq(workspace, name),
        keys.serviceLogs(workspace, name),
        keys.serviceReplicas(workspace, name),
        keys.serviceEventOnce(workspace, name),
        name,
        generation,
      );
      return purged === 1;
    });
  }
}
