// Helpers of the `skiff up` tests: a `skiff` process as a user starts it, what its data
// directory's lock names, and the processes and ports that must be gone after a stop.
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort } from '@skiff/testing';
import { bin, startApp, waitFor, type AppProcess } from './processes.js';

/** The ports a `skiff up` of the tests listens on (free ones, never the defaults). */
export interface UpPorts {
  readonly router: number;
  readonly grpc: number;
  readonly metrics: number;
  readonly agent: number;
}

export async function freeUpPorts(): Promise<UpPorts> {
  return {
    router: await freePort(),
    grpc: await freePort(),
    metrics: await freePort(),
    agent: await freePort(),
  };
}

/** `--data-dir … --port … --grpc-port … --metrics-port … --agent-port …`. */
export function upFlags(dataDir: string, ports: UpPorts): string[] {
  return [
    '--data-dir',
    dataDir,
    '--port',
    String(ports.router),
    '--grpc-port',
    String(ports.grpc),
    '--metrics-port',
    String(ports.metrics),
    '--agent-port',
    String(ports.agent),
  ];
}

/** Runs `skiff <args>` in `cwd` with its login in `configDir` (and HOME there too). */
export function skiff(
  args: readonly string[],
  configDir: string,
  cwd: string,
  env: Record<string, string> = {},
): AppProcess {
  return startApp(
    bin('cli', 'skiff'),
    {
      SKIFF_CONFIG_DIR: configDir,
      HOME: configDir,
      // Whatever the machine's shell has must not leak into the platform under test.
      REDIS_URL: '',
      SKIFF_ENDPOINT: '',
      SKIFF_TOKEN: '',
      SKIFF_WORKSPACE: '',
      ...env,
    },
    args,
    cwd,
  );
}

/** Runs `skiff <args>` to its end. */
export async function skiffRun(
  args: readonly string[],
  configDir: string,
  cwd: string,
): Promise<{ code: number | NodeJS.Signals; out: string }> {
  const run = skiff(args, configDir, cwd);
  return { code: await run.exited, out: run.output() };
}

/** Waits until the process printed a line matching `pattern`; returns the match. */
export function waitForOutput(
  process: AppProcess,
  pattern: RegExp,
  timeoutMs = 90_000,
): Promise<RegExpMatchArray> {
  return waitFor(
    `output matching ${pattern}`,
    async () => {
      const match = pattern.exec(process.output());
      if (match) return match;
      if (process.child.exitCode !== null || process.child.signalCode !== null) {
        throw new Error(`skiff exited (${process.child.exitCode ?? process.child.signalCode})`);
      }
      return undefined;
    },
    timeoutMs,
    () => `skiff's output:\n${process.output()}`,
  );
}

/** A process recorded by pid and start time. */
export interface Recorded {
  readonly pid: number;
  readonly start: string;
}

/** What `<dataDir>/up.lock` says, or undefined without one. */
export function readUpLock(
  dataDir: string,
): { pid: number; start: string; children: Record<string, Recorded> } | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'up.lock'), 'utf8')) as {
      pid: number;
      start: string;
      children: Record<string, Recorded>;
    };
  } catch {
    return undefined;
  }
}

/** Whether the recorded process runs (pid and start time match; zombies count as gone). */
export function running({ pid, start }: Recorded): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] !== 'Z' && fields[0] !== 'X' && fields[19] === start;
  } catch {
    return false;
  }
}

/** The process as recorded now (pid + start time), or undefined when it is not running. */
export function recorded(pid: number): Recorded | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/**
 * Every process of a replica started from this data directory: its replica directories are
 * `<service>-g<generation>-<8 hex>` under `<dataDir>/agent`, and each of its processes carries
 * SKIFF_REPLICA_ID=<that name>.
 */
export function replicaProcesses(dataDir: string): Recorded[] {
  const ids = new Set<string>();
  const walk = (dir: string, depth: number) => {
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (/-g\d+-[0-9a-f]{8}$/.test(entry)) ids.add(entry);
      else if (depth < 5 && entry !== 'cache') walk(join(dir, entry), depth + 1);
    }
  };
  walk(join(dataDir, 'agent'), 1);
  const found: Recorded[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      const id = environ.find((v) => v.startsWith('SKIFF_REPLICA_ID='))?.slice(17);
      const process = id !== undefined && ids.has(id) ? recorded(Number(entry)) : undefined;
      if (process) found.push(process);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Whether a TCP listener could be opened on 127.0.0.1:`port` now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}
