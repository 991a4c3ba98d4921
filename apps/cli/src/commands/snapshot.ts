import type { Command } from 'commander';
import type { Invocation } from '../program.js';

/** `skiff snapshot ...` — placeholder; the real command arrives with its library. */
export function registerSnapshotCommands(program: Command, _invocation: Invocation): void {
  program.command('snapshot').description('(not yet available)');
}
