import { UnavailableError } from '@skiff/errors';
import { Redis, type RedisOptions } from 'ioredis';

/** Options of {@link connectRedis}. */
export interface RedisConnectionOptions {
  /** redis://host:port/db. */
  url: string;
  /** Prefix of every key (default 'skiff:'); tests use their own. */
  keyPrefix?: string;
  /** ms to wait for a connection before a command fails (default 2000). */
  connectTimeoutMs?: number;
}

/**
 * A client for the state store that fails fast while Redis is away (no offline queue, one
 * retry per command) and reconnects by itself when it returns, so API calls answer UNAVAILABLE
 * during an outage and work again afterwards without a restart.
 */
export function connectRedis(options: RedisConnectionOptions, extra: RedisOptions = {}): Redis {
  const client = new Redis(options.url, {
    keyPrefix: options.keyPrefix ?? 'skiff:',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    retryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
    ...extra,
  });
  // Connection errors surface through the failing commands (as UnavailableError).
  client.on('error', () => undefined);
  return client;
}

const CONNECTION_ERRORS = [
  /ECONNREFUSED/,
  /ECONNRESET/,
  /ETIMEDOUT/,
  /EPIPE/,
  /Connection is closed/,
  /Stream isn't writeable/,
  /enableOfflineQueue/,
  /Reached the max retries per request limit/,
  /LOADING/,
  /connect ETIMEDOUT/,
];

/** Whether `error` means "Redis is unreachable right now" rather than a bug. */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    CONNECTION_ERRORS.some((pattern) => pattern.test(error.message))
  );
}

/** Runs a store operation, turning Redis outages into {@link UnavailableError}. */
export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isRedisUnavailable(error)) {
      throw new UnavailableError('the state store (Redis) is unreachable; retry shortly', {
        cause: error,
      });
    }
    throw error;
  }
}

/** Resolves once `client` is ready or `timeoutMs` has passed, whichever comes first. */
export function waitUntilReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.on('ready', onReady);
  });
}
