import { mkdir, rm } from 'node:fs/promises';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@skiff/errors';
import type {
  Replica,
  ReplicaLogLine,
  ServiceKey,
  WorkloadDriver,
  WorkloadSpec,
} from '../driver.js';
import { checkLocalSpec, ensureModelFolder, modelFolderName, specHash } from './environment.js';
import { installLauncher } from './launcher.js';
import { checkServiceKey, serviceName, StateLayout } from './layout.js';
import { lastReplicaLines, LogFollower, parseLogLines } from './logs.js';
import {
  resolveOptions,
  type LocalProcessDriverOptions,
  type LocalProcessDriverSettings,
} from './options.js';
import { httpGet, inFlightOf, ReplicaProbes } from './probes.js';
import { lockStateDir } from './state-lock.js';
import { isRunning } from './processes.js';
import { ServiceReconciler } from './reconciler.js';
import { RecordStore, type ReplicaRecord } from './records.js';

interface CachedInFlight {
  at: number;
  value: Promise<number>;
}

/**
 * The embedded runtime: each replica is a `skiff-scoring-server` process on a free loopback
 * port, under a launcher that outlives the agent, with its directory under `stateDir` (see
 * layout.ts). Level-triggered: every call and every supervisor pass reads the directories and
 * processes, never a list in memory, so a new driver on the same `stateDir` (a restarted agent)
 * adopts the replicas that run, restarts those that do not, and finishes half-done work.
 *
 * `apply` and `scale` return once the change is started; a background supervisor (every
 * `superviseIntervalMs`) follows it through: restarts with backoff, readiness and liveness
 * probes, rollovers (new replicas first, old ones drained once new ones are ready) and drains
 * (`terminating` for `drainGraceMs`, then SIGTERM, then SIGKILL after the scoring timeout). To
 * wait for a rollout, poll `listReplicas` (see {@link rolloutProgress}). The supervisor keeps
 * the agent's event loop alive until {@link close}.
 */
export class LocalProcessDriver implements WorkloadDriver {
  private readonly layout: StateLayout;
  private readonly records: RecordStore;
  private readonly probes: ReplicaProbes;
  private readonly reconciler: ServiceReconciler;
  private readonly locks = new Map<string, Promise<void>>();
  private readonly kicked = new Set<string>();
  private readonly inFlightCache = new Map<string, CachedInFlight>();
  private readonly followers = new Set<LogFollower>();
  private readonly watchers = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private supervising: Promise<void> = Promise.resolve();
  private closed = false;

  /**
   * Prepares `stateDir`, takes over what it finds there (one supervisor pass: adopt running
   * replicas, restart or clean up the rest), and starts the supervisor. Throws
   * FailedPreconditionError while another open driver (in any process) uses `stateDir`.
   */
  static async open(options: LocalProcessDriverOptions): Promise<LocalProcessDriver> {
    const settings = resolveOptions(options);
    await mkdir(settings.stateDir, { recursive: true, mode: 0o700 });
    const unlock = await lockStateDir(settings.stateDir);
    try {
      const layout = new StateLayout(settings.stateDir);
      const launcher = await installLauncher(layout);
      const driver = new LocalProcessDriver(settings, layout, launcher, unlock);
      await driver.supervise();
      driver.schedule();
      return driver;
    } catch (error) {
      await unlock();
      throw error;
    }
  }

  protected constructor(
    private readonly settings: LocalProcessDriverSettings,
    layout: StateLayout,
    launcherPath: string,
    private readonly unlock: () => Promise<void>,
  ) {
    this.layout = layout;
    this.records = new RecordStore(layout);
    this.probes = new ReplicaProbes({
      readinessTimeoutMs: settings.readinessTimeoutMs,
      onChange: (key) => this.kick(key),
    });
    this.reconciler = new ServiceReconciler({
      layout,
      records: this.records,
      probes: this.probes,
      launcherPath,
      command: settings.command,
      args: settings.args,
      baseEnvironment: settings.baseEnvironment,
      dataCollectionDir: settings.dataCollectionDir,
      drainGraceMs: settings.drainGraceMs,
      killMarginMs: settings.killMarginMs,
      maxLogBytes: settings.maxLogBytes,
      backoff: { initialMs: settings.restartBackoffMs, maxMs: settings.maxRestartBackoffMs },
      backoffResetMs: settings.backoffResetMs,
      log: settings.logger,
    });
  }

  /** {@inheritDoc WorkloadDriver.apply} */
  async apply(spec: WorkloadSpec): Promise<void> {
    this.assertOpen();
    checkLocalSpec(spec);
    const key: ServiceKey = { workspace: spec.workspace, service: spec.service };
    const hash = specHash(spec);
    const modelFolder = modelFolderName(spec, hash);
    await this.exclusive(key, async () => {
      const existing = await this.records.service(key);
      await mkdir(this.layout.serviceDir(key), { recursive: true, mode: 0o700 });
      await ensureModelFolder(this.layout, spec, modelFolder);
      if (existing?.specHash !== hash || existing.replicas !== spec.replicas) {
        await this.records.writeService(key, {
          spec,
          specHash: hash,
          replicas: spec.replicas,
          modelFolder,
        });
      }
      await this.reconciler.reconcile(key, Date.now());
    });
  }

  /** {@inheritDoc WorkloadDriver.scale} Throws NotFoundError for a service never applied. */
  async scale(key: ServiceKey, replicas: number): Promise<void> {
    this.assertOpen();
    checkServiceKey(key);
    if (!Number.isSafeInteger(replicas) || replicas < 0) {
      throw new InvalidArgumentError(`replicas: expected an integer ≥ 0, got ${replicas}`, {
        field: 'replicas',
      });
    }
    await this.exclusive(key, async () => {
      const existing = await this.records.service(key);
      if (!existing) throw new NotFoundError(`service ${serviceName(key)} is not deployed here`);
      if (existing.replicas !== replicas) {
        await this.records.writeService(key, { ...existing, replicas });
      }
      await this.reconciler.reconcile(key, Date.now());
    });
  }

  /**
   * {@inheritDoc WorkloadDriver.delete} Nothing is drained (the service is going): every
   * replica's processes are killed and the service's directory removed before this returns.
   */
  async delete(key: ServiceKey): Promise<void> {
    this.assertOpen();
    checkServiceKey(key);
    await this.exclusive(key, async () => {
      // First the desired state, so that a pass cut short here still ends with nothing.
      await rm(this.layout.serviceFile(key), { force: true });
      await this.reconciler.reconcile(key, Date.now());
    });
  }

  /** {@inheritDoc WorkloadDriver.listReplicas} */
  async listReplicas(key?: ServiceKey): Promise<Replica[]> {
    if (key) checkServiceKey(key);
    const keys = key ? [key] : await this.layout.services();
    // Read between passes: a pass writes one replica ready and then another terminating, and
    // a listing must not see the second change without the first.
    const records = (
      await Promise.all(keys.map((k) => this.exclusive(k, () => this.records.replicas(k))))
    ).flat();
    const now = Date.now();
    for (const [cacheKey, cached] of this.inFlightCache) {
      if (now - cached.at > 10_000) this.inFlightCache.delete(cacheKey);
    }
    return Promise.all(records.map((record) => this.replicaOf(record, now)));
  }

  /** {@inheritDoc WorkloadDriver.tailLogs} Lines of every replica directory, merged by time. */
  async tailLogs(key: ServiceKey, lines: number): Promise<ReplicaLogLine[]> {
    checkServiceKey(key);
    if (!Number.isSafeInteger(lines) || lines <= 0) return [];
    const perReplica = await Promise.all(
      (await this.layout.replicaIds(key)).map(async (id) =>
        parseLogLines(id, await lastReplicaLines(this.layout.logFile(key, id), lines)),
      ),
    );
    return perReplica
      .flat()
      .sort((a, b) => a.time.getTime() - b.time.getTime())
      .slice(-lines);
  }

  /** {@inheritDoc WorkloadDriver.followLogs} Polls the log files every `logPollIntervalMs`. */
  followLogs(onLines: (key: ServiceKey, lines: ReplicaLogLine[]) => void): () => void {
    const follower = new LogFollower(this.layout, this.settings.logPollIntervalMs, onLines, (e) =>
      this.settings.logger.error({ err: e }, 'following replica logs failed'),
    );
    this.followers.add(follower);
    void follower.start().catch((error: unknown) => {
      this.settings.logger.error({ err: error }, 'following replica logs failed');
    });
    return () => {
      this.followers.delete(follower);
      void follower.stop();
    };
  }

  /**
   * Calls `onChange` with the replicas of every service whenever one of them changes (phase,
   * address, restarts, message; not the in-flight count alone), from a listing every
   * `superviseIntervalMs` — the same shape as KubernetesDriver.watchReplicas. Resolves once
   * the first listing is delivered; returns the unsubscribe function.
   */
  async watchReplicas(onChange: (replicas: Replica[]) => void): Promise<() => void> {
    let stopped = false;
    let last = '';
    let timer: NodeJS.Timeout | undefined;
    const look = async () => {
      const replicas = await this.listReplicas();
      const signature = JSON.stringify(replicas.map(({ inFlight: _, ...rest }) => rest));
      if (!stopped && signature !== last) {
        last = signature;
        onChange(replicas);
      }
    };
    const schedule = () => {
      if (stopped || this.closed) return;
      timer = setTimeout(() => {
        void look()
          .catch((error: unknown) => this.reportFailure(undefined, error))
          .finally(schedule);
      }, this.settings.superviseIntervalMs);
    };
    await look();
    schedule();
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      this.watchers.delete(stop);
    };
    this.watchers.add(stop);
    return stop;
  }

  /**
   * {@inheritDoc WorkloadDriver.close} Replicas keep running and keep their logs; a driver
   * opened later on the same `stateDir` takes them over.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.supervising;
    for (const stop of [...this.watchers]) stop();
    await Promise.all([...this.followers].map((follower) => follower.stop()));
    this.followers.clear();
    await Promise.all([...this.locks.values()]);
    await this.unlock();
  }

  private assertOpen(): void {
    if (this.closed) throw new FailedPreconditionError('the local process driver is closed');
  }

  private async replicaOf(record: ReplicaRecord, now: number): Promise<Replica> {
    const running =
      record.pid > 0 && (await isRunning({ pid: record.pid, start: record.pidStart }));
    let { phase, message } = record;
    // Between the exit and the supervisor's next pass the record may still say ready.
    if (!running && phase === 'ready') {
      phase = 'starting';
      message = 'the process exited; restarting';
    }
    const address = running && record.port > 0 ? `127.0.0.1:${record.port}` : '';
    const serving = address !== '' && (phase === 'ready' || phase === 'terminating');
    return {
      workspace: record.workspace,
      service: record.service,
      generation: record.generation,
      id: record.id,
      address,
      phase,
      inFlight: serving ? await this.inFlight(record, now) : 0,
      maxConcurrent: record.maxConcurrent,
      nodeName: this.settings.nodeName,
      startTime: new Date(record.createdAt),
      restartCount: Math.max(0, record.runs - 1),
      message,
    };
  }

  private inFlight(record: ReplicaRecord, now: number): Promise<number> {
    const cacheKey = `${record.id}:${record.pid}:${record.port}`;
    const cached = this.inFlightCache.get(cacheKey);
    if (cached && now - cached.at < this.settings.inFlightCacheMs) return cached.value;
    const value = httpGet(record.port, '/metrics', 1_000).then(
      (answer) => (answer.status === 200 ? (inFlightOf(answer.body) ?? 0) : 0),
      () => 0,
    );
    this.inFlightCache.set(cacheKey, { at: now, value });
    return value;
  }

  /** Runs `task` after every earlier task of the same service (passes must not overlap). */
  private exclusive<T>(key: ServiceKey, task: () => Promise<T>): Promise<T> {
    const name = serviceName(key);
    const previous = this.locks.get(name) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(name, tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return result;
  }

  /** One pass over every service on disk; a failing service does not stop the others. */
  private async supervise(): Promise<void> {
    for (const key of await this.layout.services()) {
      await this.exclusive(key, () => this.reconciler.reconcile(key, Date.now())).catch(
        (error: unknown) => this.reportFailure(key, error),
      );
    }
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.supervising = this.supervise()
        .catch((error: unknown) => this.reportFailure(undefined, error))
        .finally(() => this.schedule());
    }, this.settings.superviseIntervalMs);
  }

  /** A probe result changed: reconcile that service now rather than at the next pass. */
  private kick(key: ServiceKey): void {
    const name = serviceName(key);
    if (this.closed || this.kicked.has(name)) return;
    this.kicked.add(name);
    void this.exclusive(key, () => {
      this.kicked.delete(name);
      return this.reconciler.reconcile(key, Date.now());
    }).catch((error: unknown) => this.reportFailure(key, error));
  }

  private reportFailure(key: ServiceKey | undefined, error: unknown): void {
    this.settings.logger.error(
      { err: error, service: key ? serviceName(key) : undefined },
      'supervising replicas failed; retrying at the next pass',
    );
  }
}
