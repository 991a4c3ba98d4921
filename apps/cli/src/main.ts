import { registerConfigCommands } from './commands/config.js';
import { registerDoctorCommands } from './commands/doctor.js';
import { registerComputeCommands } from './commands/compute.js';
import { registerEnvCommands } from './commands/env.js';
import { registerLoginCommand } from './commands/login.js';
import { registerModelCommands } from './commands/model.js';
import { registerServiceCommands } from './commands/service.js';
import { registerSnapshotCommands } from './commands/snapshot.js';
import { registerUpCommands } from './commands/up.js';
import { registerWorkspaceCommands } from './commands/workspace.js';
import { ExitCode, processIo, type CliIo } from './io.js';
import { createProgram, exitCodeOf, type Invocation } from './program.js';

/** Runs `skiff <argv>` and returns the exit code (0 ok, 1 failed, 2 usage). */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
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
  registerServiceCommands(program, invocation);
  registerUpCommands(program, invocation);
  // Every subcommand group gets the same output routing and exit handling as the root.
  for (const command of program.commands) {
    command.exitOverride().configureOutput(program.configureOutput());
    command.showHelpAfterError('(run with --help for usage)');
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput(program.configureOutput());
      sub.showHelpAfterError('(run with --help for usage)');
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
