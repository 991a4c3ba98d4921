import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import { guarded } from './redis.js';

/** Key suffixes of a workspace's data that can hold artifact references. */
const ARTIFACT_HOLDERS = /^ws:([^:]+):(models|model-blobs|snapshots|services)$/;

/**
 * What the artifact collector needs beyond the records: pins of uploads in progress, and
 * every workspace that may hold references.
 *
 * Pins: blobs of uploads in progress, which the collector must not sweep although no record
 * names them yet. Each upload pins the digests it stores (until a time it keeps moving
 * forward while it runs) and unpins them once its record is written or it failed; a crashed
 * process's pins simply expire. Pins of one digest by two uploads are independent.
 */
export class ArtifactGcStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  /**
   * Every workspace that has, or had, models, snapshots or services: the registered ones and
   * any whose keys outlived the workspace (deleting a workspace leaves its models and
   * snapshots, which a workspace created again under the name sees again), found by SCAN.
   */
  async workspaces(): Promise<string[]> {
    return guarded(async () => {
      const names = new Set(await this.redis.hkeys(keys.workspaces()));
      const pattern = `${this.keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}ws:*`;
      let cursor = '0';
      do {
        const [next, found] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const key of found) {
          const match = ARTIFACT_HOLDERS.exec(key.slice(this.keyPrefix.length));
          if (match?.[1] !== undefined) names.add(match[1]);
        }
      } while (cursor !== '0');
      return [...names].sort();
    });
  }

  /** Pins `digests` for `upload` until `untilMs` (ms since the epoch). */
  async pin(upload: string, digests: readonly string[], untilMs: number): Promise<void> {
    if (digests.length === 0) return;
    await guarded(async () => {
      await this.redis.zadd(
        keys.artifactPins(),
        ...digests.flatMap((digest) => [untilMs, member(upload, digest)]),
      );
    });
  }

  /** Drops the pins of `upload` on `digests`. */
  async unpin(upload: string, digests: readonly string[]): Promise<void> {
    if (digests.length === 0) return;
    await guarded(async () => {
      await this.redis.zrem(keys.artifactPins(), ...digests.map((d) => member(upload, d)));
    });
  }

  /** The digests pinned at `nowMs`; expired pins are dropped on the way. */
  async pinned(nowMs: number): Promise<Set<string>> {
    return guarded(async () => {
      const [, live] = (await this.redis
        .multi()
        .zremrangebyscore(keys.artifactPins(), '-inf', `(${nowMs}`)
        .zrange(keys.artifactPins(), 0, -1)
        .exec()) ?? [undefined, [null, []]];
      const members = (live?.[1] ?? []) as string[];
      return new Set(members.map((m) => m.slice(m.indexOf(' ') + 1)));
    });
  }
}

function member(upload: string, digest: string): string {
  return `${upload} ${digest}`;
}
