import type { Redis } from 'ioredis';
import { parseRecord } from './json.js';
import { keys } from './keys.js';
import { guarded } from './redis.js';

/** The latest connectivity doctor report of one node of a compute target. */
export interface ConnectivityRecord {
  compute: string;
  nodeName: string;
  /** ISO 8601. */
  time: string;
  healthy: boolean;
  failedChecks: number;
  warnings: number;
  /** The report in the doctor's versioned JSON schema. */
  reportJson: string;
}

/** Per node, the latest doctor report (agents on every node report; users read the picture). */
export class ConnectivityStore {
  constructor(private readonly redis: Redis) {}

  /** Keeps `record` as its node's latest report, unless a newer one is stored already. */
  async save(workspace: string, record: ConnectivityRecord): Promise<void> {
    await guarded(async () => {
      const key = keys.connectivity(workspace, record.compute);
      const previous = await this.redis.hget(key, record.nodeName);
      if (
        previous &&
        parseRecord<ConnectivityRecord>(previous, 'connectivity report').time > record.time
      )
        return;
      await this.redis.hset(key, record.nodeName, JSON.stringify(record));
    });
  }

  /** Every node's latest report, by node name. */
  async list(workspace: string, compute: string): Promise<ConnectivityRecord[]> {
    return guarded(async () => {
      const all = await this.redis.hvals(keys.connectivity(workspace, compute));
      return all
        .map((raw) => parseRecord<ConnectivityRecord>(raw, 'connectivity report'))
        .sort((a, b) => a.nodeName.localeCompare(b.nodeName));
    });
  }

  /** Forgets a compute target's reports (when it is detached). */
  async clear(workspace: string, compute: string): Promise<void> {
    await guarded(() => this.redis.unlink(keys.connectivity(workspace, compute)));
  }
}
