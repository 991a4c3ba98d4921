import type { Command } from 'commander';
import type { Invocation } from '../program.js';

/** `skiff env ...` — placeholder; the real command arrives with its library. */
export function registerEnvCommands(program: Command, _invocation: Invocation): void {
  program.command('env').description('(not yet available)');
}
