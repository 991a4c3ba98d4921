import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import { guarded } from './redis.js';

/**
 * Renews a lease held by ARGV[1], or takes it when it is free.
 * KEYS: the lease key. ARGV: holder, ttl ms. Returns 1 when the caller holds it now.
 */
const LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
`;

type LeaseClient = Redis & {
  skiffLease(key: string, holder: string, ttlMs: number): Promise<number>;
};

/** A holder id unique to this process (host, pid and a random part). */
export function processLeaseHolder(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Leases that pick one control-plane process for a periodic job (the autoscaler, the artifact
 * collector): held while renewed, free once the time runs out.
 */
export class LeaseStore {
  private readonly client: LeaseClient;

  constructor(redis: Redis) {
    this.client = redis as LeaseClient;
    if (typeof this.client.skiffLease !== 'function') {
      redis.defineCommand('skiffLease', { numberOfKeys: 1, lua: LEASE });
    }
  }

  /**
   * Takes or renews the lease `name` for `holder` for `ttlMs`; true while `holder` holds it.
   * A holder that stops renewing loses it when the time runs out.
   */
  async lease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return guarded(
      async () => (await this.client.skiffLease(keys.lease(name), holder, ttlMs)) === 1,
    );
  }
}
