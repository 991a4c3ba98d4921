import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import { guarded } from './redis.js';

/** One router's demand for one service, as it reported it. */
export interface ServiceLoadRecord {
  workspace: string;
  service: string;
  /** Requests waiting in the router for a free replica slot. */
  queued: number;
  /** Requests the router has sent to replicas and not yet answered. */
  inFlight: number;
}

/** Demand of one service summed over every live router of its compute target. */
export interface ServiceLoadTotal {
  queued: number;
  inFlight: number;
  /** Routers whose live report names the service. */
  routers: number;
}

/**
 * Assigns routing-table versions: the same content keeps its version, new content gets the
 * next one. Atomic, so several control planes serving routers of one compute target hand out
 * versions from one counter that only grows.
 * KEYS: the compute target's version hash. ARGV: content hash.
 */
const TABLE_VERSION = `
local current = redis.call('HGET', KEYS[1], 'hash')
if current == ARGV[1] then return tonumber(redis.call('HGET', KEYS[1], 'version')) end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'hash', ARGV[1])
return version
`;

type RoutingClient = Redis & {
  skiffTableVersion(key: string, hash: string): Promise<number>;
};

/**
 * What routers tell the control plane and what it tells them: per-router load reports (kept
 * for a time to live, so a router that dies stops counting) and routing-table versions.
 */
export class RoutingStore {
  private readonly client: RoutingClient;

  constructor(redis: Redis) {
    this.client = redis as RoutingClient;
    if (typeof this.client.skiffTableVersion !== 'function') {
      redis.defineCommand('skiffTableVersion', { numberOfKeys: 1, lua: TABLE_VERSION });
    }
  }

  /** Replaces one router's load report; it stops counting `ttlMs` after the last one. */
  async saveLoad(
    workspace: string,
    compute: string,
    routerId: string,
    services: readonly ServiceLoadRecord[],
    ttlMs: number,
  ): Promise<void> {
    await guarded(async () => {
      await this.client
        .multi()
        .hset(keys.routers(workspace, compute), routerId, String(Date.now()))
        .set(keys.routerLoad(workspace, compute, routerId), JSON.stringify(services), 'PX', ttlMs)
        .exec();
    });
  }

  /** Demand per service name over the compute target's live routers. */
  async load(workspace: string, compute: string): Promise<Map<string, ServiceLoadTotal>> {
    return guarded(async () => {
      const routers = await this.client.hkeys(keys.routers(workspace, compute));
      const totals = new Map<string, ServiceLoadTotal>();
      if (routers.length === 0) return totals;
      const reports = await this.client.mget(
        routers.map((id) => keys.routerLoad(workspace, compute, id)),
      );
      const gone = routers.filter((_, index) => reports[index] === null);
      // Routers whose report expired are forgotten (a live one re-adds itself on its next report).
      if (gone.length > 0) await this.client.hdel(keys.routers(workspace, compute), ...gone);
      for (const raw of reports) {
        if (raw === null) continue;
        for (const load of JSON.parse(raw) as ServiceLoadRecord[]) {
          if (load.workspace !== workspace) continue;
          const total = totals.get(load.service) ?? { queued: 0, inFlight: 0, routers: 0 };
          total.queued += load.queued;
          total.inFlight += load.inFlight;
          total.routers += 1;
          totals.set(load.service, total);
        }
      }
      return totals;
    });
  }

  /** The version of a compute target's routing table whose content hashes to `contentHash`. */
  async tableVersion(workspace: string, compute: string, contentHash: string): Promise<number> {
    return guarded(() =>
      this.client.skiffTableVersion(keys.routingVersion(workspace, compute), contentHash),
    );
  }

  /** Forgets the routers and table version of a detached compute target. */
  async forget(workspace: string, compute: string): Promise<void> {
    await guarded(async () => {
      const routers = await this.client.hkeys(keys.routers(workspace, compute));
      await this.client.unlink(
        keys.routers(workspace, compute),
        keys.routingVersion(workspace, compute),
        ...routers.map((id) => keys.routerLoad(workspace, compute, id)),
      );
    });
  }
}
