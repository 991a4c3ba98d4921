// Child processes of `skiff up`: each app runs in its own process group (so a Ctrl-C in the
// terminal reaches only the supervisor, which stops the apps in order), its output prefixed
// with its name, and — once the platform is up — restarted with a doubling backoff when it
// dies.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { formatLogLine } from './log-lines.js';
import { processStart, signal, type ProcessIdentity } from './processes.js';

/** How to run one app. */
export interface AppSpec {
  /** Short name, the prefix of its log lines: `control-plane`, `router`, `agent`, `redis`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The complete environment of the process. */
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** How long SIGTERM may take before SIGKILL. */
  readonly stopGraceMs: number;
  /** What to say when the command cannot be started at all (ENOENT). */
  readonly missingHint?: string;
}

/** Where a supervised app's news goes. */
export interface SupervisorOutput {
  /** One line of the app's stdout/stderr, already prefixed. */
  line(text: string): void;
  /** The app's current process changed (started: its identity; exited: undefined). */
  processChanged(name: string, identity: ProcessIdentity | undefined): void;
}

/** Restart backoff: 0.5 s doubling to 30 s, back to 0.5 s after a run of 30 s. */
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
const HEALTHY_RUN_MS = 30_000;
const KEPT_LINES = 40;
const PREFIX_WIDTH = 'control-plane'.length;

/** One app under supervision. */
export class SupervisedApp {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private backoffMs = FIRST_BACKOFF_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly recent: string[] = [];
  /** After start-up: a process that dies is started again (before: start-up fails). */
  restartOnExit = false;
  /** How many times it was restarted. */
  restarts = 0;
  /** Called when a run ends while not stopping (before any restart). */
  onUnexpectedExit: ((description: string) => void) | undefined;

  constructor(
    readonly spec: AppSpec,
    private readonly output: SupervisorOutput,
  ) {}

  /** The last lines it printed, for error messages. */
  lastLines(): string {
    return this.recent.join('\n');
  }

  /** The pid of the current process, if one runs. */
  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null
      ? this.child.pid
      : undefined;
  }

  /** Starts the process; rejects when it cannot be started at all. */
  async start(): Promise<void> {
    const { spec } = this;
    const child = spawn(spec.command, [...spec.args], {
      env: spec.env,
      cwd: spec.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const startedAt = Date.now();
    const prefix = `[${spec.name}]`.padEnd(PREFIX_WIDTH + 2);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        this.recent.push(line);
        if (this.recent.length > KEPT_LINES) this.recent.shift();
        this.output.line(`${prefix} ${formatLogLine(line)}`);
      });
    }
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signalName) => {
        this.output.processChanged(spec.name, undefined);
        resolve();
        if (this.stopping) return;
        const description = signalName ? `was killed by ${signalName}` : `exited with code ${code}`;
        this.onUnexpectedExit?.(description);
        if (!this.restartOnExit) return;
        if (Date.now() - startedAt >= HEALTHY_RUN_MS) this.backoffMs = FIRST_BACKOFF_MS;
        const delay = this.backoffMs;
        this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
        this.output.line(
          `${'[skiff]'.padEnd(PREFIX_WIDTH + 2)} ${spec.name} ${description}; restarting it in ${delay} ms`,
        );
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          if (this.stopping) return;
          this.restarts += 1;
          this.start().catch((error: unknown) =>
            this.output.line(
              `${'[skiff]'.padEnd(PREFIX_WIDTH + 2)} ${spec.name} could not be restarted: ${String(error)}`,
            ),
          );
        }, delay);
      });
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' && spec.missingHint) reject(new Error(spec.missingHint));
        else reject(new Error(`cannot start ${spec.name} (${spec.command}): ${error.message}`));
      });
    });
    const pid = child.pid ?? 0;
    this.output.processChanged(spec.name, { pid, start: (await processStart(pid)) ?? '' });
  }

  /** Stops it for good: SIGTERM to its process group, SIGKILL after the grace period. */
  async stop(graceMs = this.spec.stopGraceMs): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const pid = this.pid;
    if (pid === undefined) return;
    if (!signal(-pid, 'SIGTERM')) signal(pid, 'SIGTERM');
    const timer = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), graceMs).unref(),
    );
    if ((await Promise.race([this.exited.then(() => 'exited' as const), timer])) === 'timeout') {
      signal(-pid, 'SIGKILL');
      signal(pid, 'SIGKILL');
      await this.exited;
    }
    // What else ran in its group (nothing, normally) goes too.
    signal(-pid, 'SIGKILL');
  }
}
