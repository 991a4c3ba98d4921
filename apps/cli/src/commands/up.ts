import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { reportFailure } from '../connection/session.js';
import { ExitCode, type CliIo } from '../io.js';
import { collect } from '../output.js';
import { action, type Invocation } from '../program.js';
import { BootstrapError } from '../up/bootstrap.js';
import { DataDir } from '../up/data-dir.js';
import { curlLine, deployProject, findProject } from '../up/deploy-project.js';
import { down } from '../up/down.js';
import { DataDirBusyError } from '../up/lock.js';
import { LocalPlatform, UP_DEFAULTS, UpError } from '../up/platform.js';
import type { RedisMode } from '../up/redis.js';

/** 128 + SIGINT: Ctrl-C stopped `skiff up` before it was up. */
const INTERRUPTED = 130;

interface UpCommandOptions {
  readonly dataDir: string;
  readonly redis: RedisMode;
  readonly redisUrl?: string;
  readonly redisPrefix?: string;
  readonly port?: number;
  readonly grpcPort?: number;
  readonly metricsPort?: number;
  readonly agentPort?: number;
  readonly workspace?: string;
  readonly router: boolean;
  readonly login: boolean;
  readonly deploy?: string;
  readonly model?: string[];
  readonly name?: string;
  readonly logLevel: string;
  readonly startTimeout: number;
}

function portNumber(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65_535) {
    throw new InvalidArgumentError('expected a port number, 1-65535');
  }
  return port;
}

function seconds(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('expected seconds');
  return parsed;
}

/**
 * The first SIGINT/SIGTERM/SIGHUP stops gracefully, a later one at once. Signals within a
 * second of the first count as that one: under `npx`, one Ctrl-C arrives twice (the terminal
 * signals the whole foreground group, and npm forwards its copy to the child).
 */
function stopSignals(onStop: (force: boolean) => void): () => void {
  let first: number | undefined;
  const handler = () => {
    const now = Date.now();
    if (first === undefined) first = now;
    else if (now - first < 1_000) return;
    onStop(now !== first);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const name of signals) process.on(name, handler);
  return () => {
    for (const name of signals) process.removeListener(name, handler);
  };
}

async function up(io: CliIo, options: UpCommandOptions): Promise<number> {
  const abort = new AbortController();
  let platform: LocalPlatform | undefined;
  let stopRequested: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const removeSignals = stopSignals((force) => {
    if (!abort.signal.aborted) io.err('\nskiff: stopping (Ctrl-C again to kill at once)…\n');
    abort.abort();
    stopRequested();
    if (force) void platform?.stop(true);
  });
  try {
    // A project that cannot deploy fails before anything starts.
    if (options.deploy !== undefined) await findProject(io, options.deploy);
    const redisUrl = options.redisUrl ?? (io.env['REDIS_URL'] || undefined);
    platform = await LocalPlatform.start(io, {
      dataDir: resolve(io.cwd, options.dataDir),
      redis: options.redis,
      redisUrl,
      redisPrefix: options.redisPrefix,
      routerPort: options.port,
      grpcPort: options.grpcPort,
      metricsPort: options.metricsPort,
      agentPort: options.agentPort,
      workspace: options.workspace,
      router: options.router,
      login: options.login,
      logLevel: options.logLevel,
      startTimeoutMs: options.startTimeout * 1_000,
      signal: abort.signal,
    });
    io.out(platform.describe());
    if (options.deploy !== undefined && !abort.signal.aborted) {
      const deployed = await deployProject(io, {
        project: options.deploy,
        models: options.model ?? [],
        service: options.name,
        endpoint: platform.endpoint,
        token: platform.cliToken,
        workspace: platform.workspace,
        compute: platform.compute,
        router: options.router,
      });
      if (abort.signal.aborted) {
        // Ctrl-C while deploying: stop below.
      } else if (typeof deployed === 'number') {
        await platform.stop();
        return deployed;
      } else {
        io.out(
          [
            ...(deployed.key ? [`Key:         ${deployed.key}`] : []),
            'Score it:',
            `  ${curlLine(deployed)}`,
            '',
          ].join('\n'),
        );
      }
    } else if (!abort.signal.aborted) {
      io.out(
        [
          'Deploy your project (in its folder, with its Azure ML v1 files):',
          '  skiff model register -n my-model -p ./outputs/model',
          `  skiff model deploy -n my-service -m my-model --ic inferenceconfig.json --dc deploymentconfig.json --ct ${platform.compute}`,
          '',
        ].join('\n'),
      );
    }
    if (!abort.signal.aborted) {
      io.out(`Stop with Ctrl-C, or: skiff down --data-dir ${resolve(io.cwd, options.dataDir)}\n`);
    }
    await stopped;
    await platform.stop();
    io.out('skiff is down.\n');
    return ExitCode.ok;
  } catch (error) {
    await platform?.stop();
    if (abort.signal.aborted) {
      io.err('skiff: stopped before it was up.\n');
      return INTERRUPTED;
    }
    if (
      error instanceof UpError ||
      error instanceof DataDirBusyError ||
      error instanceof BootstrapError
    ) {
      io.err(`skiff: ${error.message}\n`);
      return ExitCode.failed;
    }
    return reportFailure(io, error);
  } finally {
    removeSignals();
  }
}

/** `skiff up` and `skiff down`: the whole platform on this machine (docs/up.md). */
export function registerUpCommands(program: Command, invocation: Invocation): void {
  const io = invocation.io;
  program
    .command('up')
    .description(
      'Run the whole platform on this machine until Ctrl-C: control plane, router and one local ' +
        'agent as supervised processes (restarted when one dies), on Redis at REDIS_URL or a ' +
        "redis-server of skiff's own; a workspace, a compute target 'local' and your login set " +
        'up. A restart on the same --data-dir brings every service back with the same keys.',
    )
    .option('--data-dir <dir>', 'where state, credentials and Redis files live', '.skiff')
    .addOption(
      new Option(
        '--redis <mode>',
        "auto: REDIS_URL, else what the data dir used, else 127.0.0.1:6379 when it answers, else embedded; external: REDIS_URL or 127.0.0.1:6379; embedded: skiff's own redis-server (AOF in <data-dir>/redis)",
      )
        .choices(['auto', 'external', 'embedded'])
        .default('auto'),
    )
    .option('--redis-url <url>', 'Redis to use (env REDIS_URL); implies --redis external in auto')
    .option(
      '--redis-prefix <prefix>',
      `prefix of every Redis key (default ${UP_DEFAULTS.redisPrefix})`,
    )
    .option(
      '-p, --port <port>',
      `router port on 127.0.0.1 (default ${UP_DEFAULTS.routerPort}, or the data dir's last)`,
      portNumber,
    )
    .option(
      '--grpc-port <port>',
      `control plane gRPC port (default ${UP_DEFAULTS.grpcPort}, or the data dir's last)`,
      portNumber,
    )
    .option(
      '--metrics-port <port>',
      `control plane /metrics port (default ${UP_DEFAULTS.metricsPort})`,
      portNumber,
    )
    .option(
      '--agent-port <port>',
      `agent /metrics port (default ${UP_DEFAULTS.agentPort})`,
      portNumber,
    )
    .option(
      '-w, --workspace <name>',
      `workspace to set up and log in to (default ${UP_DEFAULTS.workspace})`,
    )
    .option('--no-router', 'do not start the router (you run one yourself)')
    .option('--no-login', 'leave the CLI login ($SKIFF_CONFIG_DIR/config.json) alone')
    .option(
      '--deploy <project>',
      'once up, deploy this Azure ML v1 project folder (inferenceconfig.json, deploymentconfig.json, entry script), score it once and print the curl line',
    )
    .option(
      '-m, --model <model>',
      "with --deploy: [NAME=]PATH of a model file or folder to register, or NAME[:VERSION] of a registered one (repeatable; default: the project's model/, models/ or outputs/ folder)",
      collect,
    )
    .option('-n, --name <service>', 'with --deploy: the service name (default: the folder name)')
    .addOption(
      new Option('--log-level <level>', "the apps' log level (info: every call and job)")
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('warn'),
    )
    .option('--start-timeout <seconds>', 'how long each app may take to start', seconds, 120)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  skiff up\n' +
        '  skiff up --deploy examples/iris-python --model examples/models/iris-logreg/1\n' +
        '  REDIS_URL=redis://127.0.0.1:6379 skiff up --port 8081 --data-dir /var/lib/skiff',
    )
    .action(action(invocation, (options: UpCommandOptions) => up(io, options)));

  program
    .command('down')
    .description(
      'Stop the skiff up of a data directory (from another terminal), or what it left running ' +
        'when it was killed: apps, replicas and its redis-server.',
    )
    .option('--data-dir <dir>', 'the data directory skiff up runs on', '.skiff')
    .option('--timeout <seconds>', 'how long to wait for a clean stop before killing', seconds, 60)
    .addHelpText('after', '\nExample:\n  skiff down --data-dir .skiff')
    .action(
      action(invocation, (options: { dataDir: string; timeout: number }) =>
        down(io, new DataDir(resolve(io.cwd, options.dataDir)), options.timeout * 1_000),
      ),
    );
}
