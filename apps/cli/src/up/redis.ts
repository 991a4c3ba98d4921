// Redis for `skiff up`: the one at REDIS_URL (or --redis-url), or a redis-server that skiff
// starts itself with its append-only file in <dataDir>/redis. `--redis auto` (the default)
// decides once per data directory and remembers it in up.json, so a restart never moves the
// platform's state to another Redis.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import type { RedisSettings } from './data-dir.js';

/** `--redis`: where Redis comes from. */
export type RedisMode = 'auto' | 'external' | 'embedded';

/** Redis's default address, tried by `--redis auto` when REDIS_URL is unset. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Whether a Redis answers at `url`: it sends PING and accepts any Redis reply (`+PONG`, or an
 * error such as NOAUTH — then the URL's credentials are the control plane's business).
 */
export function redisAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  let host: string;
  let port: number;
  try {
    const parsed = new URL(url);
    host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    port = Number(parsed.port || 6379);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk: Buffer) => done(chunk[0] === 0x2b || chunk[0] === 0x2d)); // + or -
  });
}

/** What decides `--redis auto`. */
export interface RedisChoice {
  readonly mode: RedisMode;
  /** --redis-url, else REDIS_URL. */
  readonly url: string | undefined;
  /** What the data directory used last time, if it was started before. */
  readonly previous: RedisSettings | undefined;
  /** Whether the data directory holds an embedded Redis's files. */
  readonly hasEmbeddedData: boolean;
}

/**
 * Picks the Redis of this start:
 * - `external`: the given URL, else redis://127.0.0.1:6379;
 * - `embedded`: a redis-server of skiff's own;
 * - `auto`: a given URL; else what this data directory used before; else the default
 *   address when a Redis answers there; else embedded.
 */
export async function chooseRedis(choice: RedisChoice): Promise<RedisSettings> {
  if (choice.mode === 'embedded') return { mode: 'embedded' };
  if (choice.mode === 'external') return { mode: 'external', url: choice.url ?? DEFAULT_REDIS_URL };
  if (choice.url !== undefined) return { mode: 'external', url: choice.url };
  if (choice.previous) return choice.previous;
  if (choice.hasEmbeddedData) return { mode: 'embedded' };
  if (await redisAnswers(DEFAULT_REDIS_URL)) return { mode: 'external', url: DEFAULT_REDIS_URL };
  return { mode: 'embedded' };
}

/** The arguments of the embedded redis-server: loopback only, AOF on, no RDB snapshots. */
export function embeddedRedisArgs(dir: string, port: number, logLevel: string): string[] {
  const level =
    logLevel === 'debug' || logLevel === 'trace'
      ? 'verbose'
      : logLevel === 'info'
        ? 'notice'
        : 'warning';
  return [
    '--loglevel',
    level,
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
    '--logfile',
    '',
  ];
}

/** The redis-server to run: $SKIFF_REDIS_SERVER, else the one on the PATH. */
export function redisServerCommand(env: NodeJS.ProcessEnv): string {
  return env['SKIFF_REDIS_SERVER'] || 'redis-server';
}

/** Whether `<dir>` holds an embedded Redis's append-only files. */
export function hasEmbeddedRedisData(dir: string): boolean {
  return existsSync(dir);
}

/** The URL without its password, for messages. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
