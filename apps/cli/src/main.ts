import { registerConfigCommands } from './commands/config.js';
import { registerDoctorCommands } from './commands/doctor.js';
import { registerComputeCommands } from './commands/compute.js';
import { registerEnvCommands } from './commands/env.js';
import { registerEnvironmentCommands } from './commands/environment.js';
import { registerLoginCommand } from './commands/login.js';
import { registerModelCommands } from './commands/model.js';
import { registerServiceCommands } from './commands/service.js';
import { registerSnapshotCommands } from './commands/snapshot.js';
import { registerUpCommands } from './commands/up.js';
import { registerWorkspaceCommands } from './commands/workspace.js';
import { ExitCode, processIo, type CliIo } from './io.js';
import { createProgram, exitCodeOf, type Invocation } from './program.js';

let pipesGuarded = false;
/**
 * A reader that stops reading (`skiff compute attach --help | head -1`) ends the output, not
 * the command with an EPIPE stack trace: exit 0, as the reader has what it wanted (exit 141, a
 * SIGPIPE death, would fail `set -o pipefail` scripts for the reader's choice). A closed stderr
 * only loses diagnostics; the exit code stays the command's.
 */
function exitQuietlyOnClosedPipes(): void {
  if (pipesGuarded) return;
  pipesGuarded = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(ExitCode.ok);
    throw error;
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

/** Runs `skiff <argv>` and returns the exit code (0 ok, 1 failed, 2 usage). */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  // Only the real streams: tests that pass their own io keep their process's handlers.
  if (io === processIo) exitQuietlyOnClosedPipes();
  const invocation: Invocation = { io, exitCode: ExitCode.ok };
  const program = createProgram(invocation);
  registerConfigCommands(program, invocation);
  registerEnvCommands(program, invocation);
  registerSnapshotCommands(program, invocation);
  registerDoctorCommands(program, invocation);
  registerLoginCommand(program, invocation);
  registerWorkspaceCommands(program, invocation);
  registerComputeCommands(program, invocation);
  registerModelCommands(program, invocation);
  registerEnvironmentCommands(program, invocation);
  registerServiceCommands(program, invocation);
  registerUpCommands(program, invocation);
  // Every subcommand group gets the same output routing and exit handling as the root.
  for (const command of program.commands) {
    command.exitOverride().configureOutput(program.configureOutput());
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput(program.configureOutput());
    }
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    try {
      return exitCodeOf(error);
    } catch (unexpected) {
      io.err(`skiff: ${unexpected instanceof Error ? unexpected.message : String(unexpected)}\n`);
      return ExitCode.failed;
    }
  }
  return invocation.exitCode;
}
