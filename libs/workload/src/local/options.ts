import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '@skiff/errors';
import { defaultBaseEnvironment } from './environment.js';
import type { LocalDriverLogger } from './reconciler.js';

/** Options of {@link LocalProcessDriver.open}. Durations in milliseconds. */
export interface LocalProcessDriverOptions {
  /**
   * Where every service's replicas are recorded (created, mode 0700). The driver keeps nothing
   * else: a driver opened on the same directory (an agent restart) finds and adopts them. One
   * open driver per directory at a time.
   */
  readonly stateDir: string;
  /** The scoring server's command, e.g. `process.execPath`. */
  readonly command: string;
  /** Its arguments, e.g. the path of `skiff-scoring-server.js`. Default none. */
  readonly args?: readonly string[];
  /**
   * The environment every replica starts from; the spec's variables and the driver's SKIFF_*
   * are added. Default: PATH, HOME, TMPDIR, LANG, LC_ALL, TZ and SKIFF_PYTHON of this process
   * (nothing else of the agent's environment, which holds its own credentials).
   */
  readonly baseEnvironment?: Readonly<Record<string, string>>;
  /**
   * SKIFF_DATA_COLLECTION_DIR of services with data collection on. Default
   * `<stateDir>/.data-collection`. Collected data is kept when a service is deleted.
   */
  readonly dataCollectionDir?: string;
  /** Reported as each replica's `nodeName`. Default `os.hostname()`. */
  readonly nodeName?: string;
  /**
   * How long a ready replica is reported `terminating` before it gets SIGTERM, so that a
   * report reaches the routers before it stops taking requests. Default 2000.
   */
  readonly drainGraceMs?: number;
  /** After SIGTERM, the process group is killed at the spec's scoring timeout + this. Default 5000. */
  readonly killMarginMs?: number;
  /** Delay before the first restart of a replica that exited; doubles per restart. Default 1000. */
  readonly restartBackoffMs?: number;
  /** The longest restart delay. Default 30000. */
  readonly maxRestartBackoffMs?: number;
  /** A replica ready this long gets its restart delay reset. Default 60000. */
  readonly backoffResetMs?: number;
  /** How often the supervisor looks at every replica (exits, readiness, drains). Default 250. */
  readonly superviseIntervalMs?: number;
  /** Timeout of a readiness probe (`GET /`). Default 1000. */
  readonly readinessTimeoutMs?: number;
  /** How long an in-flight count read from `/metrics` is reused. Default 200. */
  readonly inFlightCacheMs?: number;
  /**
   * Size at which a replica's log is rotated (replica.log → replica.log.1, one generation
   * kept), so a replica's logs use at most twice this. Default 64 MiB.
   */
  readonly maxLogBytes?: number;
  /** How often followLogs looks for new lines. Default 250. */
  readonly logPollIntervalMs?: number;
  /** Where the driver logs what it does to replicas (pino's Logger fits). Default: nowhere. */
  readonly logger?: LocalDriverLogger;
}

/** The options with every default filled in. */
export type LocalProcessDriverSettings = Required<LocalProcessDriverOptions>;

const ignore = (): void => undefined;
const SILENT: LocalDriverLogger = { info: ignore, warn: ignore, error: ignore };

/** Fills in the defaults and checks the numbers; throws InvalidArgumentError. */
export function resolveOptions(options: LocalProcessDriverOptions): LocalProcessDriverSettings {
  const stateDir = resolve(options.stateDir);
  const settings: LocalProcessDriverSettings = {
    stateDir,
    command: options.command,
    args: options.args ?? [],
    baseEnvironment: options.baseEnvironment ?? defaultBaseEnvironment(process.env),
    dataCollectionDir: resolve(options.dataCollectionDir ?? join(stateDir, '.data-collection')),
    nodeName: options.nodeName ?? hostname(),
    drainGraceMs: options.drainGraceMs ?? 2_000,
    killMarginMs: options.killMarginMs ?? 5_000,
    restartBackoffMs: options.restartBackoffMs ?? 1_000,
    maxRestartBackoffMs: options.maxRestartBackoffMs ?? 30_000,
    backoffResetMs: options.backoffResetMs ?? 60_000,
    superviseIntervalMs: options.superviseIntervalMs ?? 250,
    readinessTimeoutMs: options.readinessTimeoutMs ?? 1_000,
    inFlightCacheMs: options.inFlightCacheMs ?? 200,
    maxLogBytes: options.maxLogBytes ?? 64 * 1024 * 1024,
    logPollIntervalMs: options.logPollIntervalMs ?? 250,
    logger: options.logger ?? SILENT,
  };
  if (!settings.command) throw new InvalidArgumentError('command: required', { field: 'command' });
  const durations = [
    'drainGraceMs',
    'killMarginMs',
    'restartBackoffMs',
    'maxRestartBackoffMs',
    'backoffResetMs',
    'superviseIntervalMs',
    'readinessTimeoutMs',
    'inFlightCacheMs',
    'logPollIntervalMs',
    'maxLogBytes',
  ] as const;
  for (const field of durations) {
    const value = settings[field];
    const least =
      field.endsWith('IntervalMs') || field === 'readinessTimeoutMs' || field === 'maxLogBytes'
        ? 1
        : 0;
    if (!Number.isFinite(value) || value < least) {
      throw new InvalidArgumentError(`${field}: expected a number ≥ ${least}, got ${value}`, {
        field,
      });
    }
  }
  return settings;
}
