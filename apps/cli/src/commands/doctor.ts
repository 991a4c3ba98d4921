import { addDoctorOptions, runDoctorCommand, type DoctorFlags } from '@skiff/doctor';
import { ConnectivityReport } from '@skiff/proto';
import type { Command } from 'commander';
import { runOnline, withConnectionOptions, type ConnectionFlags } from '../connection/session.js';
import { ExitCode, type CliIo } from '../io.js';
import { outputOption, printJson, printTable, timeText, type OutputFormat } from '../output.js';
import { action, type Invocation } from '../program.js';

interface CliDoctorFlags extends DoctorFlags, ConnectionFlags {
  /** Show the latest per-node reports of this compute target instead of checking from here. */
  readonly compute?: string;
  readonly output: OutputFormat;
}

/**
 * `skiff doctor`: checks, in the chronological order of a deployment, that the cluster can
 * resolve and reach every host it needs, and says which DNS or firewall rule is missing. With
 * `--compute`, shows what the doctor on every node of a compute target last found instead.
 */
export function registerDoctorCommands(program: Command, invocation: Invocation): void {
  const command = program
    .command('doctor')
    .summary('check DNS and egress for a deployment, phase by phase, and say which rule is missing')
    .description(
      [
        'Checks, in the order a deployment needs them (phases 1-5), that every host of the plan resolves (A and AAAA, through each resolver separately), accepts TCP, completes a verified TLS handshake and answers HTTP; with cluster access, that router peers and model pods accept connections. Each problem comes with a diagnosis, why the host is needed, and the DNS or firewall rule to add. See docs/doctor.md.',
        'With --compute NAME it checks nothing from here: it shows the latest report of every node of that compute target, as the doctors on the nodes (skiff-doctor --every ... --report-to ...) sent them to the control plane. (--cluster is the AKS cluster name of the host templates.)',
        'Exit codes: 0 every required check passed (warnings allowed), 1 a required check failed (with --compute: a node is unhealthy, or none has reported), 2 usage or plan error.',
      ].join('\n\n'),
    );
  addDoctorOptions(command);
  withConnectionOptions(command)
    .option(
      '--compute <name>',
      'show the latest report of every node of this compute target (from the control plane)',
    )
    .addOption(outputOption());
  command.action(
    action(invocation, (flags: CliDoctorFlags) =>
      flags.compute !== undefined
        ? nodeReports(invocation.io, flags, flags.compute)
        : runDoctorCommand(flags, {
            out: invocation.io.out,
            err: invocation.io.err,
            cwd: invocation.io.cwd,
            env: invocation.io.env,
          }),
    ),
  );
}

/** The per-node picture of a compute target; exit 0 only when every reporting node is healthy. */
function nodeReports(io: CliIo, flags: CliDoctorFlags, compute: string): Promise<number> {
  return runOnline(io, flags, { workspace: true }, async ({ client, workspace }) => {
    const { reports } = await client.computes.getConnectivity({ workspace, compute });
    if (flags.output === 'json' || flags.json) {
      printJson(
        io,
        reports.map((report) => ({
          ...(ConnectivityReport.toJSON(report) as Record<string, unknown>),
          reportJson: undefined,
          report: parse(report.reportJson),
        })),
      );
    } else {
      printTable(
        io,
        ['NODE', 'HEALTHY', 'FAILED', 'WARNINGS', 'REPORTED'],
        reports.map((r) => [
          r.nodeName,
          r.healthy ? 'yes' : 'no',
          String(r.failedChecks),
          String(r.warnings),
          timeText(r.time),
        ]),
        `No node of compute target '${compute}' has reported yet: run skiff-doctor --every 5m --report-to <control plane> --report-compute ${compute} on its nodes (the agent DaemonSet will).`,
      );
    }
    if (reports.length === 0) return ExitCode.failed;
    return reports.every((report) => report.healthy) ? ExitCode.ok : ExitCode.failed;
  });
}

function parse(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}
