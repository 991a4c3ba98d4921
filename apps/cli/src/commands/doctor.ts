import type { Command } from 'commander';
import type { Invocation } from '../program.js';

/** `skiff doctor ...` — placeholder; the real command arrives with libs/doctor. */
export function registerDoctorCommands(program: Command, _invocation: Invocation): void {
  program.command('doctor').description('(not yet available)');
}
