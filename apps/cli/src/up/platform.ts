// `skiff up`: Redis, control plane, agent and router as supervised child processes on this
// machine — the topology of a cluster, with the same gRPC boundaries — set up so that the
// other `skiff` commands work at once, and brought back as it was by the next start.
import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CliIo } from '../io.js';
import { APP_BINS } from './apps.js';
import {
  connectAdmin,
  ensureCredentials,
  ensureWorkspaceAndCompute,
  writeLogin,
} from './bootstrap.js';
import {
  adminToken,
  DataDir,
  readJsonFile,
  upSettings,
  writePrivateJson,
  type UpCredentials,
  type UpSettings,
} from './data-dir.js';
import { stopLeftovers } from './leftovers.js';
import { UpLock } from './lock.js';
import { busyPorts, freePort, type PlannedPort } from './ports.js';
import {
  chooseRedis,
  embeddedRedisArgs,
  hasEmbeddedRedisData,
  redactedUrl,
  redisAnswers,
  redisServerCommand,
  type RedisMode,
} from './redis.js';
import { stopReplicas } from './replicas.js';
import { SupervisedApp, type AppSpec } from './supervisor.js';

/** The loopback address every app listens on: `skiff up` is for one machine. */
export const HOST = '127.0.0.1';

/** Defaults of a first start (later starts reuse what the data directory used). */
export const UP_DEFAULTS = {
  workspace: 'default',
  compute: 'local',
  routerPort: 8080,
  grpcPort: 50051,
  metricsPort: 9464,
  agentPort: 9465,
  redisPrefix: 'skiff:',
} as const;

/** What `skiff up` was asked for. */
export interface UpOptions {
  /** Absolute path of the data directory. */
  readonly dataDir: string;
  readonly redis: RedisMode;
  readonly redisUrl?: string | undefined;
  readonly redisPrefix?: string | undefined;
  readonly routerPort?: number | undefined;
  readonly grpcPort?: number | undefined;
  readonly metricsPort?: number | undefined;
  readonly agentPort?: number | undefined;
  readonly workspace?: string | undefined;
  /** Start the router (false: a router is run some other way). */
  readonly router: boolean;
  /** Write the CLI's login. */
  readonly login: boolean;
  readonly logLevel: string;
  /** How long each app may take to become ready. */
  readonly startTimeoutMs: number;
  /** Aborted: stop starting (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** A start that could not happen; the message is the sentence to print. */
export class UpError extends Error {
  override readonly name = 'UpError';
}

/** The stop was asked for while starting. */
class Interrupted extends Error {}

/** The running platform. */
export class LocalPlatform {
  private readonly apps = new Map<string, SupervisedApp>();
  private startupFailure: string | undefined;
  private stopping: Promise<void> | undefined;
  private interrupted = false;
  private redisUrl = '';
  private credentials: UpCredentials | undefined;
  private loginPath: string | undefined;

  private constructor(
    private readonly io: CliIo,
    private readonly options: UpOptions,
    private readonly dataDir: DataDir,
    private readonly lock: UpLock,
    readonly settings: UpSettings,
  ) {}

  /** The control plane's gRPC address. */
  get endpoint(): string {
    return `${HOST}:${this.settings.grpcPort}`;
  }
  get routerUrl(): string {
    return `http://${HOST}:${this.settings.routerPort}`;
  }
  get workspace(): string {
    return this.settings.workspace;
  }
  get compute(): string {
    return this.settings.compute;
  }
  /** The CLI's credential (a workspace admin). */
  get cliToken(): string {
    return this.credentials?.cli ?? '';
  }
  /** A supervised app by name, for status and tests. */
  app(name: string): SupervisedApp | undefined {
    return this.apps.get(name);
  }

  /**
   * Takes the data directory, checks the ports, starts every app and sets up workspace,
   * compute target, credentials and login. On any failure everything started is stopped again
   * and the lock released; `UpError` carries the sentence to print.
   */
  static async start(io: CliIo, options: UpOptions): Promise<LocalPlatform> {
    const dataDir = new DataDir(options.dataDir);
    await dataDir.create();
    const { lock, stale } = await UpLock.acquire(dataDir);
    let platform: LocalPlatform | undefined;
    try {
      if (stale) {
        const stopped = await stopLeftovers(dataDir, stale, 5_000);
        io.err(
          `skiff: the previous skiff up (pid ${stale.pid}) ended without stopping` +
            (stopped.length > 0 ? `; stopped what it left: ${stopped.join(', ')}\n` : '\n'),
        );
      }
      const settings = await resolveSettings(options, dataDir);
      platform = new LocalPlatform(io, options, dataDir, lock, settings);
      await platform.checkPorts();
      await writePrivateJson(dataDir.settingsFile, settings);
      await platform.startAll();
      return platform;
    } catch (error) {
      if (platform) await platform.stop();
      else await lock.release();
      throw error;
    }
  }

  /** Asks the start-up in progress (or the running platform) to stop. */
  interrupt(): void {
    this.interrupted = true;
  }

  private async checkPorts(): Promise<void> {
    const s = this.settings;
    const planned: PlannedPort[] = [
      { port: s.grpcPort, what: 'the control plane gRPC API', option: '--grpc-port' },
      { port: s.metricsPort, what: 'the control plane /metrics', option: '--metrics-port' },
      { port: s.agentPort, what: 'the agent /metrics', option: '--agent-port' },
    ];
    if (this.options.router)
      planned.unshift({ port: s.routerPort, what: 'the router', option: '--port' });
    const problems = await busyPorts(HOST, planned);
    if (problems.length > 0) {
      throw new UpError(
        `${problems.join('\n')}\n(is another skiff up running? 'skiff down --data-dir <its data dir>' stops it)`,
      );
    }
  }

  private async startAll(): Promise<void> {
    const { options, settings, dataDir } = this;
    const logLevel = options.logLevel;
    const base = { ...process.env };

    // Redis.
    if (settings.redis.mode === 'embedded') {
      await mkdir(dataDir.redisDir, { recursive: true, mode: 0o700 });
      const port = await freePort(HOST);
      this.redisUrl = `redis://${HOST}:${port}`;
      const redis = this.supervise({
        name: 'redis',
        command: redisServerCommand(process.env),
        args: embeddedRedisArgs(dataDir.redisDir, port, logLevel),
        env: base,
        cwd: dataDir.redisDir,
        stopGraceMs: 15_000,
        missingHint:
          'redis-server was not found: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), ' +
          'set SKIFF_REDIS_SERVER to its path, or point REDIS_URL at a running Redis',
      });
      await redis.start();
      await this.until('redis', () => redisAnswers(this.redisUrl, 500));
    } else {
      this.redisUrl = settings.redis.url;
      if (!(await redisAnswers(this.redisUrl))) {
        throw new UpError(
          `no Redis answers at ${redactedUrl(this.redisUrl)}: start it, or run skiff up --redis embedded to let skiff run its own`,
        );
      }
    }

    // Control plane, then what it must know before the agent and router can start.
    const admin = await adminToken(dataDir);
    await mkdir(dataDir.controlPlaneDir, { recursive: true, mode: 0o700 });
    await this.supervise({
      name: 'control-plane',
      command: process.execPath,
      args: [APP_BINS.controlPlane],
      env: {
        ...base,
        SKIFF_GRPC_LISTEN: this.endpoint,
        SKIFF_HTTP_LISTEN: `${HOST}:${settings.metricsPort}`,
        REDIS_URL: this.redisUrl,
        SKIFF_REDIS_PREFIX: settings.redisPrefix,
        SKIFF_DATA_DIR: dataDir.controlPlaneDir,
        SKIFF_ADMIN_TOKEN: admin,
        SKIFF_SHUTDOWN_GRACE_SECONDS: '2',
        SKIFF_LOG_LEVEL: logLevel,
      },
      cwd: dataDir.path,
      stopGraceMs: 10_000,
    }).start();
    const client = await connectAdmin(this.endpoint, admin, options.startTimeoutMs, () =>
      this.checkStarting(),
    );
    try {
      await ensureWorkspaceAndCompute(client, settings.workspace, settings.compute, this.routerUrl);
      this.credentials = await ensureCredentials(
        client,
        dataDir,
        settings.workspace,
        settings.compute,
      );
    } finally {
      client.close();
    }
    const credentials = this.credentials;

    // Agent and router.
    const scoped = {
      SKIFF_ENDPOINT: this.endpoint,
      SKIFF_WORKSPACE: settings.workspace,
      SKIFF_COMPUTE: settings.compute,
      SKIFF_LOG_LEVEL: logLevel,
    };
    await mkdir(dataDir.agentDir, { recursive: true, mode: 0o700 });
    const agent = this.supervise({
      name: 'agent',
      command: process.execPath,
      args: [APP_BINS.agent],
      env: {
        ...base,
        ...scoped,
        SKIFF_TOKEN: credentials.agent,
        SKIFF_NODE_NAME: settings.compute,
        REDIS_URL: this.redisUrl,
        SKIFF_STATE_DIR: dataDir.agentDir,
        SKIFF_HTTP_LISTEN: `${HOST}:${settings.agentPort}`,
      },
      cwd: dataDir.path,
      stopGraceMs: 10_000,
    });
    await agent.start();
    if (options.router) {
      await this.supervise({
        name: 'router',
        command: process.execPath,
        args: [APP_BINS.router],
        env: {
          ...base,
          ...scoped,
          SKIFF_TOKEN: credentials.router,
          SKIFF_ROUTER_LISTEN: `${HOST}:${settings.routerPort}`,
          // A local router has nothing long in flight to wait for on Ctrl-C.
          SKIFF_ROUTER_DRAIN_TIMEOUT_MS: '5000',
        },
        cwd: dataDir.path,
        stopGraceMs: 10_000,
      }).start();
    }
    await this.until('the agent', () => httpReady(`http://${HOST}:${settings.agentPort}/readyz`));
    if (options.router) {
      await this.until('the router', () => httpReady(`${this.routerUrl}/readyz`));
    }
    if (options.login) {
      this.loginPath = await writeLogin(
        this.io,
        this.endpoint,
        credentials.cli,
        settings.workspace,
      );
    }
    // Up: from now on a process that dies is restarted.
    for (const app of this.apps.values()) app.restartOnExit = true;
  }

  private supervise(spec: AppSpec): SupervisedApp {
    const app = new SupervisedApp(spec, {
      line: (text) => this.io.out(`${text}\n`),
      processChanged: (name, identity) => {
        this.lock.setChild(name, identity).catch((error: unknown) => {
          this.io.err(`skiff: could not update ${this.dataDir.lockFile}: ${String(error)}\n`);
        });
      },
    });
    app.onUnexpectedExit = (description) => {
      if (!app.restartOnExit) {
        this.startupFailure ??= `${spec.name} ${description} while starting; its last lines:\n${indent(app.lastLines())}`;
      }
    };
    this.apps.set(spec.name, app);
    return app;
  }

  /** Throws when the start-up must end: a stop was asked for, or an app died. */
  private checkStarting(): void {
    if (this.interrupted || this.options.signal?.aborted) {
      throw new Interrupted('stopped while starting');
    }
    if (this.startupFailure !== undefined) throw new UpError(this.startupFailure);
  }

  private async until(what: string, ready: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + this.options.startTimeoutMs;
    for (;;) {
      this.checkStarting();
      if (await ready()) return;
      if (Date.now() > deadline) {
        throw new UpError(
          `${what} did not become ready within ${this.options.startTimeoutMs / 1000} s`,
        );
      }
      await sleep(100);
    }
  }

  /** What runs, for the banner. */
  describe(): string {
    const s = this.settings;
    const redis =
      s.redis.mode === 'embedded'
        ? `${this.redisUrl} (skiff's own redis-server, append-only file in ${this.dataDir.redisDir})`
        : redactedUrl(this.redisUrl);
    const lines = [
      `skiff is up (data dir ${this.dataDir.path}, pid ${process.pid}):`,
      `  control plane  ${this.endpoint} (gRPC), metrics http://${HOST}:${s.metricsPort}/metrics`,
      this.options.router
        ? `  router         ${this.routerUrl}   scoring URIs: ${this.routerUrl}/api/v1/service/<name>/score`
        : `  router         not started (--no-router); compute '${s.compute}' expects it at ${this.routerUrl}`,
      `  agent          compute target '${s.compute}' of workspace '${s.workspace}', metrics http://${HOST}:${s.agentPort}/metrics`,
      `  redis          ${redis}`,
    ];
    if (this.loginPath) {
      lines.push(
        `Logged in: skiff commands act on ${this.endpoint}, workspace '${s.workspace}' (${this.loginPath}).`,
      );
    }
    return `${lines.join('\n')}\n`;
  }

  /**
   * Stops everything, in order — router, agent, the agent's replicas, control plane, Redis —
   * and releases the data directory. `force`: SIGKILL without grace.
   */
  stop(force = false): Promise<void> {
    this.interrupted = true;
    if (force) {
      for (const app of this.apps.values()) void app.stop(0);
    }
    this.stopping ??= this.stopInOrder();
    return this.stopping;
  }

  private async stopInOrder(): Promise<void> {
    try {
      await this.apps.get('router')?.stop();
      await this.apps.get('agent')?.stop();
      await stopReplicas(this.dataDir.agentDir, 5_000);
      await this.apps.get('control-plane')?.stop();
      await this.apps.get('redis')?.stop();
    } finally {
      await this.lock.release();
    }
  }
}

/** Whether `url` answers 200. */
async function httpReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

/** Options, else what the data directory used last time, else the defaults. */
async function resolveSettings(options: UpOptions, dataDir: DataDir): Promise<UpSettings> {
  const previous = await readJsonFile(dataDir.settingsFile, upSettings);
  const redis = await chooseRedis({
    mode: options.redis,
    url: options.redisUrl,
    previous: previous?.redis,
    hasEmbeddedData: hasEmbeddedRedisData(dataDir.redisDir),
  });
  const workspace = options.workspace ?? previous?.workspace ?? UP_DEFAULTS.workspace;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(workspace)) {
    throw new UpError(`--workspace: expected a DNS label (a-z, 0-9, -), got '${workspace}'`);
  }
  return {
    workspace,
    compute: previous?.compute ?? UP_DEFAULTS.compute,
    routerPort: options.routerPort ?? previous?.routerPort ?? UP_DEFAULTS.routerPort,
    grpcPort: options.grpcPort ?? previous?.grpcPort ?? UP_DEFAULTS.grpcPort,
    metricsPort: options.metricsPort ?? previous?.metricsPort ?? UP_DEFAULTS.metricsPort,
    agentPort: options.agentPort ?? previous?.agentPort ?? UP_DEFAULTS.agentPort,
    redis,
    redisPrefix: options.redisPrefix ?? previous?.redisPrefix ?? UP_DEFAULTS.redisPrefix,
  };
}
