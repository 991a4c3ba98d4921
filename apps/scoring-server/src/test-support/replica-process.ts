// Starts the real scoring server as a child process (bin/skiff-scoring-server.js), the way
// the local driver and a container do, and reads its JSON log.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The app's root folder and the repository's. */
export const APP_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../../../../', import.meta.url));
export const FIXTURES = `${APP_DIR}test-fixtures/`;
export const EXAMPLES = `${REPO_DIR}examples/`;
const BIN = `${APP_DIR}bin/skiff-scoring-server.js`;

/** One parsed line of the server's log. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

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
  const logs: LogLine[] = [];
  const waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  let pending = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text, unparsed: true };
      }
      logs.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  const waitForLog = (match: (line: LogLine) => boolean, what = 'a log line') => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      waiters.push({ match, resolve });
      void exited.then(({ code, signal }) => {
        // Let the last stdout chunk be parsed before deciding it never came.
        setTimeout(() => {
          const late = logs.find(match);
          if (late) return resolve(late);
          reject(
            new Error(
              `the scoring server exited (code ${code}, signal ${signal}) before ${what}.\n` +
                `log:\n${logs.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${stderr}`,
            ),
          );
        }, 50);
      });
    });
  };

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
