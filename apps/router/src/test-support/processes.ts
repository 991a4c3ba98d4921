// Runs skiff bins (the router's own, and the scoring server's as a real replica) as child
// processes and reads their JSON logs, the way `skiff up` and the agent start them.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { followJsonLog, type JsonLogLine } from '@skiff/testing';

/** The router's bin, and the scoring server's (run by path: replicas are processes). */
export const ROUTER_BIN = fileURLToPath(new URL('../../bin/skiff-router.js', import.meta.url));
export const SCORING_SERVER_BIN = fileURLToPath(
  new URL('../../../scoring-server/bin/skiff-scoring-server.js', import.meta.url),
);
/** The scoring server's test entry script whose requests name what run() does. */
export const BEHAVIOURS_SCRIPT = fileURLToPath(
  new URL('../../../scoring-server/test-fixtures/js/behaviours.mjs', import.meta.url),
);

export type LogLine = JsonLogLine;

/** A running bin. */
export interface BinProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[];
  /** Everything on stderr. */
  stderr(): string;
  /** The first log line (seen or future) that matches; fails if the process exits first. */
  waitForLog(match: (line: LogLine) => boolean, what: string): Promise<LogLine>;
  /** Exit code, or the signal's name. */
  readonly exited: Promise<number | string>;
  /** SIGTERM (or `signal`), then SIGKILL after 10 s; resolves on exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Starts `node <bin> ...args` with `env` on top of this process's environment minus its SKIFF_
 * and AZUREML_ variables (so the host cannot leak into a test).
 */
export function startBin(
  bin: string,
  env: Record<string, string>,
  args: string[] = [],
): BinProcess {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(SKIFF_|AZUREML_)/.test(key)),
  );
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = followJsonLog(child, bin);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 0)),
  );
  return {
    child,
    logs: log.lines,
    stderr: log.stderr,
    exited,
    waitForLog: (match, what) => log.waitFor(match, what),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}
