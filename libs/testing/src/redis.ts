import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { inject } from 'vitest';

/** The Redis URL that the global setup provided (see redis-global-setup.ts). */
export function testRedisUrl(): string {
  const url = inject('redisUrl');
  if (!url) {
    throw new Error(
      "No Redis was provided: this project's vitest.config.ts must call skiffProject(name, { redis: true }).",
    );
  }
  return url;
}

/** A name no other test uses: key prefixes, queue names, workspace ids. */
export function uniqueTestName(kind = 'test'): string {
  return `${kind}-${randomUUID()}`;
}

/** One test's own slice of the shared Redis. */
export interface IsolatedRedis {
  /** Prefix every key of this test carries, ending in ':'. */
  readonly prefix: string;
  readonly url: string;
  /** A client with `keyPrefix` set to `prefix`. */
  readonly client: Redis;
  /** A new client with the same prefix (for blocking commands, subscribers). */
  duplicate(options?: RedisOptions): Redis;
  /** Deletes every key under `prefix` and closes the clients. */
  cleanup(): Promise<void>;
}

/** A Redis client whose keys all carry a fresh `test-<uuid>:` prefix; clean up after the test. */
export function isolatedRedis(): IsolatedRedis {
  const url = testRedisUrl();
  const prefix = `${uniqueTestName()}:`;
  const clients: Redis[] = [];
  const open = (options: RedisOptions = {}): Redis => {
    const client = new Redis(url, { keyPrefix: prefix, maxRetriesPerRequest: null, ...options });
    clients.push(client);
    return client;
  };
  const client = open();
  return {
    prefix,
    url,
    client,
    duplicate: open,
    async cleanup() {
      const admin = new Redis(url);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await admin.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        admin.disconnect();
        for (const c of clients) c.disconnect();
      }
    },
  };
}
