// Starts the real scoring server as a child process (bin/skiff-scoring-server.js), the way
// the local driver and a container do, and reads its JSON log.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { followJsonLog, type JsonLogLine } from '@skiff/testing';

/** The app's root folder and the repository's. */
export const APP_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../../../../', import.meta.url));
export const FIXTURES = `${APP_DIR}test-fixtures/`;
export const EXAMPLES = `${REPO_DIR}examples/`;
const BIN = `${APP_DIR}bin/skiff-scoring-server.js`;

/** One parsed line of the server's log. */
export type LogLine = JsonLogLine;

export interface ReplicaProcess {
  readonly child: ChildProcess;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly logs: LogLine[];
  /** Resolves with the first log line (already seen or future) that matches. */
  waitForLog(match: (line: LogLine) => boolean, what?: string): Promise<LogLine>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  /** What to wait for before resolving: the listening line (default) or init() finishing. */
  readonly until?: 'listening' | 'ready' | 'exit';
}

const running = new Set<ReplicaProcess>();

/**
 * Starts a replica with `env` on a kernel-chosen loopback port (SKIFF_PORT=0; the port is read
 * from the `listening` log line). Variables of the test process starting with SKIFF_ or
 * AZUREML_ are not passed on, so the host environment cannot leak into a test.
 */
export async function startReplica(
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<ReplicaProcess> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(SKIFF_|AZUREML_)/.test(key)),
  );
  const child = spawn(process.execPath, [BIN], {
    env: { ...inherited, SKIFF_PORT: '0', SKIFF_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = followJsonLog(child, 'the scoring server');
  const logs = log.lines;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  const waitForLog = (match: (line: LogLine) => boolean, what = 'a log line') =>
    log.waitFor(match, what);

  const listening =
    options.until === 'exit'
      ? undefined
      : await waitForLog((l) => l.msg === 'listening', 'listening');
  const port = Number(listening?.['port'] ?? 0);
  const replica: ReplicaProcess = {
    child,
    url: `http://127.0.0.1:${port}`,
    port,
    logs,
    waitForLog,
    exited,
    async stop(graceMs = 5_000) {
      running.delete(replica);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(replica);
  if (options.until === 'ready') {
    const outcome = await waitForLog(
      (l) => typeof l.msg === 'string' && /^init\(\) (finished|failed)/.test(l.msg),
      'init() finished',
    );
    if (!outcome.msg?.startsWith('init() finished')) {
      await replica.stop();
      throw new Error(`init() failed: ${outcome.msg}`);
    }
  }
  return replica;
}

/** Stops every replica a test started and left running (for afterEach). */
export async function stopAllReplicas(): Promise<void> {
  await Promise.all([...running].map((replica) => replica.stop()));
}

/** POSTs `body` to /score and returns status, headers and the parsed (or raw) body. */
export async function score(
  replica: ReplicaProcess,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: unknown; text: string }> {
  const response = await fetch(`${replica.url}/score`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}
