/** Where a command writes and what it sees; tests pass their own. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/** The process's own stdout, stderr, cwd and environment. */
export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
};

/** Exit codes shared by every command. */
export const ExitCode = {
  ok: 0,
  /** The command ran and found a problem (invalid config, failed check). */
  failed: 1,
  /** Usage error: unknown command or flag, missing argument. */
  usage: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
