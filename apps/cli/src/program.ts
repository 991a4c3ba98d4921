import { Command, CommanderError } from 'commander';
import { ExitCode, type CliIo } from './io.js';

/**
 * A command's action: returns the exit code. Thrown errors are reported on stderr with exit 1,
 * so a command only catches what it can explain better.
 */
export type CommandAction<A extends unknown[]> = (...args: A) => Promise<number> | number;

/** State shared by the program and its commands while one invocation runs. */
export interface Invocation {
  readonly io: CliIo;
  exitCode: number;
}

/**
 * Wraps an action so its exit code reaches `main`. Commander passes (args..., options, command).
 */
export function action<A extends unknown[]>(
  invocation: Invocation,
  run: CommandAction<A>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    invocation.exitCode = await run(...args);
  };
}

/** Appended to every usage error commander reports. */
export const USAGE_HINT = '(run with --help for usage)';

/** A commander program whose output and exits go through `io` instead of the process. */
export function createProgram(invocation: Invocation): Command {
  const program = new Command('skiff');
  program
    .description(
      'skiff: deploy Azure ML v1 entry scripts and config files as web services, on Kubernetes or one machine.',
    )
    .configureOutput({
      writeOut: (text) => invocation.io.out(text),
      writeErr: (text) => invocation.io.err(text),
      // One line per usage error, the hint on it: commander's showHelpAfterError would print
      // the hint as a second line, which scripts reading stderr's first line lose.
      outputError: (text, write) => write(`${text.trimEnd()} ${USAGE_HINT}\n`),
    })
    .exitOverride();
  return program;
}

/** Maps what commander threw to an exit code; rethrows anything that is not commander's. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version exit 0 through exitOverride; everything else commander throws is
    // a usage error.
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  throw error;
}
