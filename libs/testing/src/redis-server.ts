import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';

/** A Redis that tests may use, and how to let go of it. */
export interface TestRedis {
  /** `redis://127.0.0.1:PORT` (or the REDIS_URL that was given). */
  readonly url: string;
  /** True when this process started the server (and will stop it). */
  readonly started: boolean;
  stop(): Promise<void>;
}

const HOW_TO_GET_REDIS =
  'Tests need a real Redis. Either set REDIS_URL to a running one on loopback ' +
  '(e.g. REDIS_URL=redis://127.0.0.1:6379), or install redis-server so the tests can start ' +
  'their own (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis).';

/** Answers PING within `timeoutMs`, or false. Never retries, never queues commands. */
export async function redisAnswers(url: string, timeoutMs = 1_500): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Tests may only talk to loopback (CONVENTIONS.md): refuse any other Redis host. */
export function assertLoopbackRedisUrl(url: string): void {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (!loopback) {
    throw new Error(
      `REDIS_URL=${url} is not a loopback address; tests only talk to 127.0.0.0/8 or ::1. ${HOW_TO_GET_REDIS}`,
    );
  }
}

/**
 * A real Redis for tests: `REDIS_URL` when it is set and answers; otherwise a `redis-server`
 * started on a free loopback port with no persistence (stopped by `stop()`); otherwise an error
 * that says how to get one.
 */
export async function provideTestRedis(env: NodeJS.ProcessEnv = process.env): Promise<TestRedis> {
  const given = env['REDIS_URL'];
  if (given) {
    assertLoopbackRedisUrl(given);
    if (await redisAnswers(given)) {
      return { url: given, started: false, stop: () => Promise.resolve() };
    }
  }
  try {
    return await startRedisServer({ bin: env['REDIS_SERVER_BIN'] ?? 'redis-server' });
  } catch (error) {
    if (given)
      throw new Error(
        `REDIS_URL=${given} does not answer, and ${String((error as Error).message)}`,
      );
    throw error;
  }
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Port on 127.0.0.1; default a free one. Pass the old port to restart a server in place. */
  port?: number;
  /** Data directory; default a new temporary one, removed on stop. Kept when given. */
  dir?: string;
  /** Turn on the append-only file (durability tests); default off. */
  appendOnly?: boolean;
  /** Binary; default `redis-server`. */
  bin?: string;
}

/** A Redis server process a test controls. */
export interface RedisServer extends TestRedis {
  readonly port: number;
  readonly dir: string;
  /** Kills it with SIGKILL (a crash): no shutdown work; the data directory stays. */
  crash(): Promise<void>;
}

/** A `redis-server` child process on loopback, for tests that stop and restart Redis. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = options.bin ?? 'redis-server';
  const port = options.port ?? (await freePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'skiff-test-redis-')));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', ''];
  args.push('--appendonly', options.appendOnly ? 'yes' : 'no', '--appendfsync', 'always');
  args.push('--dir', dir, '--daemonize', 'no', '--loglevel', 'warning');
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const url = `redis://127.0.0.1:${port}`;
  const cleanup = () => (ownDir ? rm(dir, { recursive: true, force: true }) : Promise.resolve());

  for (let attempt = 0; attempt < 100; attempt++) {
    const failed = await Promise.race([spawnError, delay(50).then(() => undefined)]);
    if (failed) {
      await cleanup();
      throw new Error(`could not start '${bin}' (${failed.message}). ${HOW_TO_GET_REDIS}`);
    }
    if (child.exitCode !== null) break;
    if (await redisAnswers(url, 500)) {
      return {
        url,
        port,
        dir,
        started: true,
        stop: () => stopChild(child).then(cleanup),
        crash: () => stopChild(child, 'SIGKILL'),
      };
    }
  }
  await stopChild(child);
  await cleanup();
  throw new Error(`'${bin}' did not come up on ${url}: ${stderr.trim()}. ${HOW_TO_GET_REDIS}`);
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await Promise.race([exited, delay(5_000).then(() => child.kill('SIGKILL'))]);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
