import { addDoctorOptions, runDoctorCommand, type DoctorFlags } from '@skiff/doctor';
import type { Command } from 'commander';
import { action, type Invocation } from '../program.js';

/**
 * `skiff doctor`: checks, in the chronological order of a deployment, that the cluster can
 * resolve and reach every host it needs, and says which DNS or firewall rule is missing.
 */
export function registerDoctorCommands(program: Command, invocation: Invocation): void {
  const command = program
    .command('doctor')
    .summary('check DNS and egress for a deployment, phase by phase, and say which rule is missing')
    .description(
      [
        'Checks, in the order a deployment needs them (phases 1-5), that every host of the plan resolves (A and AAAA, through each resolver separately), accepts TCP, completes a verified TLS handshake and answers HTTP; with cluster access, that router peers and model pods accept connections. Each problem comes with a diagnosis, why the host is needed, and the DNS or firewall rule to add. See docs/doctor.md.',
        'Exit codes: 0 every required check passed (warnings allowed), 1 a required check failed, 2 usage or plan error.',
      ].join('\n\n'),
    );
  addDoctorOptions(command).action(
    action(invocation, (flags: DoctorFlags) =>
      runDoctorCommand(flags, {
        out: invocation.io.out,
        err: invocation.io.err,
        cwd: invocation.io.cwd,
        env: invocation.io.env,
      }),
    ),
  );
}
