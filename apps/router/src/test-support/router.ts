// Starts the router in-process against a fake control plane, on a kernel-chosen loopback port,
// with its log lines collected for assertions.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { RouterConfig } from '../config.js';
import type { DataCollector } from '../data-collection.js';
import { startRouter, type Router } from '../router.js';

/** A started router and what it logged. */
export interface TestRouter {
  readonly router: Router;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** The configuration tests start from: everything on loopback, small timeouts where harmless. */
export function testConfig(endpoint: string, overrides: Partial<RouterConfig> = {}): RouterConfig {
  return {
    endpoint,
    token: 'skf_router_test',
    workspace: 'team-a',
    compute: 'local',
    routerId: 'router-test',
    listen: { host: '127.0.0.1', port: 0 },
    headersTimeoutMs: 30_000,
    idleTimeoutMs: 30_000,
    keepAliveTimeoutMs: 5_000,
    drainTimeoutMs: 5_000,
    startupWaitMs: 200,
    authFailureLimit: 1_000,
    authFailureWindowMs: 60_000,
    loadReportMs: 100,
    upstreamSockets: 16,
    logLevel: 'info',
    ...overrides,
  };
}

/** Starts a router for `endpoint`. */
export async function startTestRouter(
  endpoint: string,
  overrides: Partial<RouterConfig> = {},
  collector?: DataCollector,
): Promise<TestRouter> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const router = await startRouter(testConfig(endpoint, overrides), {
    log,
    ...(collector ? { collector } : {}),
  });
  return { router, url: router.urls[0]!, logs, stop: () => router.stop() };
}

/** Polls `check` every 20 ms until it returns true, or fails with `what` after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
