// Wiring of one replica: configuration → files → runtime → HTTP server, and the way down.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { prepareReplicaFiles, type ReplicaFiles } from './artifacts/replica-files.js';
import { ConfigError, parseConfig, scoringServerHelp, type ScoringServerConfig } from './config.js';
import { createFileCollector, DISABLED_COLLECTOR } from './data-collection.js';
import { createScoringHttpServer, type ScoringHttpServer } from './http/server.js';
import { ConcurrencyLimiter } from './limiter.js';
import { createMetrics, type ScoringMetrics } from './metrics.js';
import { startJsWorker } from './runtime/js-worker.js';
import { WorkerPool } from './runtime/pool.js';
import { startPythonWorker } from './runtime/python-worker.js';
import { InitError, type ScoringRuntime } from './runtime/types.js';
import { scriptEnvironment } from './script-env.js';

/** Exit codes: 0 stopped cleanly, 1 could not start (bad artifacts, port taken), 2 bad config. */
export const ExitCode = { ok: 0, failed: 1, config: 2 } as const;

/** Runs a replica until SIGTERM/SIGINT; resolves with the process exit code. */
export async function main(
  env: NodeJS.ProcessEnv,
  argv: readonly string[] = process.argv.slice(2),
): Promise<number> {
  // A reader that closes the pipe (`skiff-scoring-server --help | head -1`) ends the output
  // quietly with exit 0, not with an EPIPE stack trace; a closed stderr only loses diagnostics.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(ExitCode.ok);
    throw error;
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(scoringServerHelp());
    return ExitCode.ok;
  }
  if (argv.length > 0) {
    process.stderr.write(
      `skiff-scoring-server: unknown argument '${argv[0] ?? ''}': configuration comes from the environment (skiff-scoring-server --help lists every variable)\n`,
    );
    return ExitCode.config;
  }
  let config: ScoringServerConfig;
  try {
    config = parseConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    pino().fatal({ err: error }, `invalid configuration: ${error.message}`);
    return ExitCode.config;
  }
  const log = pino({
    level: config.logLevel,
    base: { service: config.serviceId, replica: config.replicaId },
  });

  let files: ReplicaFiles;
  try {
    files = await prepareReplicaFiles(config, log);
  } catch (error) {
    log.fatal({ err: error }, `could not prepare the replica's files: ${(error as Error).message}`);
    return ExitCode.failed;
  }

  const metrics = createMetrics({ service: config.serviceId, replica: config.replicaId });
  const scriptEnv = scriptEnvironment(env, files, config.workers);
  const runtime = createRuntime(config, files, scriptEnv, log, metrics);
  const limiter = new ConcurrencyLimiter(config.maxConcurrentRequests);
  const collector = config.dataCollectionDir
    ? createFileCollector({
        dir: config.dataCollectionDir,
        serviceId: config.serviceId,
        replicaId: config.replicaId,
        log,
        onDrop: () => metrics.dataCollectionDropped.inc(),
      })
    : DISABLED_COLLECTOR;
  const http = createScoringHttpServer({
    serviceId: config.serviceId,
    scoringTimeoutMs: config.scoringTimeoutMs,
    maxBodyBytes: config.maxBodyBytes,
    runtime,
    limiter,
    metrics,
    collector,
    log,
  });

  try {
    http.server.listen(config.port, config.host);
    await once(http.server, 'listening');
  } catch (error) {
    log.fatal({ err: error }, `cannot listen on ${config.host}:${config.port}`);
    await files.cleanup();
    return ExitCode.failed;
  }
  const address = http.server.address() as AddressInfo;
  log.info(
    { host: address.address, port: address.port, entryScript: files.entryScript },
    'listening',
  );

  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      log.info({ signal }, 'stopping: no new connections; finishing requests in flight');
      void drain(http, limiter, config.scoringTimeoutMs, log).then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });

  void initialise(http, runtime, config, log, metrics);
  await stopped;
  await runtime.stop();
  await collector.close();
  await files.cleanup();
  log.info('stopped');
  return ExitCode.ok;
}

function createRuntime(
  config: ScoringServerConfig,
  files: ReplicaFiles,
  env: NodeJS.ProcessEnv,
  log: Logger,
  metrics: ScoringMetrics,
): ScoringRuntime {
  const events = { workerRestarted: (reason: string) => metrics.workerRestarts.inc({ reason }) };
  if (config.runtime === 'python') {
    return new WorkerPool(
      config.workers,
      (index) =>
        startPythonWorker({
          python: config.python,
          entryScript: files.entryScript,
          sourceDir: files.sourceDir,
          env,
          log: log.child({ worker: index }),
        }),
      log,
      events,
    );
  }
  // Fewer threads than concurrent requests: each thread takes its share at once, so async
  // run()s that wait on I/O do not queue behind each other.
  const capacity = Math.ceil(config.maxConcurrentRequests / config.workers);
  return new WorkerPool(
    config.workers,
    (index) =>
      startJsWorker({
        entryScript: files.entryScript,
        capacity,
        env,
        log: log.child({ worker: index }),
      }),
    log,
    events,
  );
}

async function initialise(
  http: ScoringHttpServer,
  runtime: ScoringRuntime,
  config: ScoringServerConfig,
  log: Logger,
  metrics: ScoringMetrics,
): Promise<void> {
  const started = performance.now();
  log.info({ runtime: config.runtime, workers: config.workers }, 'running init()');
  try {
    const info = await runtime.start();
    const seconds = (performance.now() - started) / 1_000;
    metrics.initDuration.set(seconds);
    if (http.state.phase === 'initializing') http.state = { phase: 'ready', info };
    log.info({ initSeconds: seconds, rawHttp: info.rawHttp }, 'init() finished; ready');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const traceback = error instanceof InitError ? error.traceback : undefined;
    if (http.state.phase === 'initializing') http.state = { phase: 'init-failed', reason };
    log.error({ traceback }, `init() failed; the replica will not turn ready: ${reason}`);
  }
}

/** Stops accepting, then waits for in-flight requests (at most one scoring timeout). */
async function drain(
  http: ScoringHttpServer,
  limiter: ConcurrencyLimiter,
  timeoutMs: number,
  log: Logger,
): Promise<void> {
  const { state } = http;
  http.state = {
    phase: 'draining',
    info: state.phase === 'ready' || state.phase === 'draining' ? state.info : undefined,
  };
  const closed = new Promise<void>((resolve) => http.server.close(() => resolve()));
  http.server.closeIdleConnections();
  const deadline = Date.now() + timeoutMs;
  while (limiter.inFlight > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (limiter.inFlight > 0) {
    log.warn({ inFlight: limiter.inFlight }, 'scoring timeout reached while draining; closing');
  }
  http.server.closeAllConnections();
  await closed;
}
