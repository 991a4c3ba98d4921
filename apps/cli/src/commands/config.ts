import type { Command } from 'commander';
import type { Invocation } from '../program.js';

/** `skiff config ...` — placeholder; the real command arrives with its library. */
export function registerConfigCommands(program: Command, _invocation: Invocation): void {
  program.command('config').description('(not yet available)');
}
