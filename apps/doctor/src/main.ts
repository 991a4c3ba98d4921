import { hostname } from 'node:os';
import {
  addDoctorOptions,
  doctorRunOptions,
  DoctorUsageError,
  emitReport,
  parseDuration,
  PlanError,
  runDoctor,
  runDoctorCommand,
  type DoctorCommandIo,
  type DoctorFlags,
} from '@skiff/doctor';
import { Command, CommanderError } from 'commander';
import { pino, type Logger } from 'pino';
import { startContinuousDoctor } from './continuous.js';
import { createDoctorMetrics } from './metrics.js';
import { ControlPlaneReportSink, type DoctorReportSink } from './report-sink.js';

/** The control-plane sink of continuous mode, when --report-to asks for one. */
function reportSinks(flags: AppFlags, io: DoctorAppIo): DoctorReportSink[] {
  if (flags.reportTo === undefined) return [];
  if (!/^[^\s:]+:\d{1,5}$/.test(flags.reportTo)) {
    throw new DoctorUsageError(
      `--report-to ${flags.reportTo}: expected the control plane's host:port`,
    );
  }
  if (flags.reportCompute === undefined) {
    throw new DoctorUsageError(
      '--report-to needs --report-compute, the compute target this node belongs to',
    );
  }
  const token = io.env['SKIFF_TOKEN'];
  if (!token) {
    throw new DoctorUsageError(
      '--report-to needs an agent credential in $SKIFF_TOKEN (role agent, bound to the compute target)',
    );
  }
  return [
    new ControlPlaneReportSink({
      endpoint: flags.reportTo,
      token,
      compute: flags.reportCompute,
      tls: flags.reportTls ?? false,
    }),
  ];
}

/** Variables only `skiff-doctor` reads (the engine's are listed by addDoctorOptions). */
const APP_ENVIRONMENT: readonly (readonly [string, string])[] = [
  ['SKIFF_TOKEN', 'continuous mode with --report-to: the agent credential (role agent)'],
  [
    'NODE_NAME',
    'continuous mode: this node’s name in reports (downward API); default the host name',
  ],
];

/** Commander's usage error (and its "did you mean" hint) as the one line a script can grep. */
function oneLineError(text: string): string {
  const message = text
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ');
  return `skiff-doctor: ${message} (skiff-doctor --help lists the options)\n`;
}

/**
 * A reader that stops reading (`skiff-doctor --help | head -1`) ends the output, not the run
 * with an EPIPE stack trace: exit 0, as the reader has what it wanted (exit 141, a SIGPIPE
 * death, would fail `set -o pipefail` scripts for the reader's choice). A closed stderr only
 * loses diagnostics; the exit code stays the run's.
 */
export function exitQuietlyOnClosedPipes(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

/** Where `skiff-doctor` writes and what it sees; tests pass their own. */
export interface DoctorAppIo extends DoctorCommandIo {
  /** Ends continuous mode (the bin wires SIGTERM and SIGINT to it). */
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /** Called once continuous mode serves /metrics (tests read the port from it). */
  readonly onListening?: (address: { address: string; port: number }) => void;
}

const processIo: DoctorAppIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
};

interface AppFlags extends DoctorFlags {
  readonly every?: string;
  readonly metricsHost: string;
  readonly metricsPort: string;
  readonly node?: string;
  readonly reportTo?: string;
  readonly reportCompute?: string;
  readonly reportTls?: boolean;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new DoctorUsageError(`--metrics-port ${text}: not a port`);
  return port;
}

async function continuous(flags: AppFlags, io: DoctorAppIo): Promise<number> {
  let everyMs: number;
  let port: number;
  let sinks: DoctorReportSink[];
  try {
    everyMs = parseDuration(flags.every ?? '', '--every');
    port = parsePort(flags.metricsPort);
    sinks = reportSinks(flags, io);
    // Validate flags, plan and files once, before serving: a broken plan is exit 2, not a loop of errors.
    await doctorRunOptions(flags, io);
  } catch (error) {
    if (error instanceof DoctorUsageError || error instanceof PlanError) {
      io.err(`skiff-doctor: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const logger = io.logger ?? pino({ name: 'skiff-doctor' });
  const metrics = createDoctorMetrics();
  const doctor = await startContinuousDoctor({
    // Options are rebuilt every run: in-cluster pod lists and files may change between runs.
    runOnce: async () => {
      const report = await runDoctor(await doctorRunOptions(flags, io));
      if (flags.junit !== undefined)
        await emitReport(
          report,
          { junit: flags.junit, json: true },
          { ...io, out: () => undefined },
        );
      return report;
    },
    everyMs,
    metrics,
    listen: { host: flags.metricsHost, port },
    logger,
    node: flags.node ?? io.env['NODE_NAME'] ?? hostname(),
    sinks,
  });
  io.onListening?.({ address: doctor.address.address, port: doctor.address.port });
  if (io.signal !== undefined && !io.signal.aborted) {
    await new Promise<void>((resolve) =>
      io.signal?.addEventListener('abort', () => resolve(), { once: true }),
    );
  }
  await doctor.stop();
  for (const sink of sinks) sink.close?.();
  return 0;
}

/** Runs `skiff-doctor <argv>`; returns the exit code (0 ok, 1 a required check failed, 2 usage). */
export async function main(
  argv: readonly string[],
  overrides: Partial<DoctorAppIo> = {},
): Promise<number> {
  const io: DoctorAppIo = { ...processIo, ...overrides };
  let exitCode = 0;
  const program = addDoctorOptions(
    new Command('skiff-doctor').description(
      'The skiff connectivity doctor: checks DNS and egress for a deployment phase by phase (see docs/doctor.md). With --every it keeps running and exports the results on /metrics.\n\nExit codes: 0 every required check passed (continuous mode: stopped by SIGTERM/SIGINT), 1 a required check failed, 2 usage or plan error.',
    ),
    APP_ENVIRONMENT,
  )
    .option(
      '--every <duration>',
      'continuous mode: re-run the plan this long after each run ends, e.g. 5m',
    )
    .option('--metrics-host <address>', 'continuous mode: address /metrics listens on', '127.0.0.1')
    .option('--metrics-port <port>', 'continuous mode: port /metrics listens on', '9464')
    .option(
      '--node <name>',
      'continuous mode: this node’s name in reports (default: $NODE_NAME or the host name)',
    )
    .option(
      '--report-to <host:port>',
      'continuous mode: also send every report to the control plane (credential: $SKIFF_TOKEN, role agent)',
    )
    .option('--report-compute <name>', 'continuous mode: the compute target this node belongs to')
    .option('--report-tls', 'continuous mode: reach the control plane over TLS')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: (text, write) => write(oneLineError(text)),
    })
    .action(async (flags: AppFlags) => {
      exitCode =
        flags.every !== undefined ? await continuous(flags, io) : await runDoctorCommand(flags, io);
    });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    io.err(`skiff-doctor: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  return exitCode;
}
