import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePort } from '@skiff/testing';

/** The repository root (the e2e tests run the apps' bins from here). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** The bin of an app, e.g. `bin('control-plane', 'skiff-control-plane')`. */
export const bin = (app: string, name: string) =>
  fileURLToPath(new URL(`../../../../apps/${app}/bin/${name}.js`, import.meta.url));

/** A child process running one of skiff's bins. */
export interface AppProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or signal) once it exited. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Sends `signal` and waits for the exit (no-op when it exited already). */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Records what a child started with piped stdout and stderr prints (both, interleaved as they
 * arrive) and how it exits.
 */
export function recordChild(child: ChildProcess): Pick<AppProcess, 'output' | 'exited'> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 0)),
  );
  return { output: () => output, exited };
}

/** Starts `node <bin> ...args` with `env` added to this process's environment. */
export function startApp(
  binPath: string,
  env: Record<string, string>,
  args: readonly string[] = [],
  cwd = repoRoot,
): AppProcess {
  const child = spawn(process.execPath, [binPath, ...args], {
    env: { ...process.env, ...env },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { output, exited } = recordChild(child);
  return {
    child,
    output,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
  };
}

/** Polls `check` every 100 ms until it returns a value (not undefined), or fails with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  context: () => string = () => '',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) {
      throw new Error(
        `timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}\n${context()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A fresh platform admin credential in the control plane's format. */
export function adminToken(): string {
  return `skf_${randomBytes(12).toString('hex')}_${randomBytes(32).toString('base64url')}`;
}

/** A free loopback address. */
export async function loopbackAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}
