// One reconcile pass over one service: read what exists (the replica directories and their
// processes), compare it with service.json, act on the difference, write down what was done
// before and after every step that starts or stops a process. A pass can be cut at any line
// (the agent killed) and the next pass, in this driver or a new one, finishes the job.
import { mkdir, rm } from 'node:fs/promises';
import type { ServiceKey } from '../driver.js';
import { modelDir, removeUnusedModelFolders, replicaEnvironment } from './environment.js';
import type { StateLayout } from './layout.js';
import { newReplicaId } from './layout.js';
import { spawnLauncher } from './launcher.js';
import {
  appendDriverNote,
  lastErrorOf,
  lastLines,
  lastTracebackOf,
  parseLogLines,
} from './logs.js';
import { nextBackoff, planReplicas, type BackoffPolicy, type PlannedReplica } from './plan.js';
import type { ReplicaProbes } from './probes.js';
import {
  carriesReplicaId,
  isRunning,
  killReplica,
  processStart,
  sendSignal,
  type ProcessIdentity,
} from './processes.js';
import type { RecordStore, ReplicaRecord, ServiceRecord } from './records.js';

/** A message longer than this is cut (a whole traceback belongs in the logs, not in a status). */
const MAX_MESSAGE = 4_000;

/** How the driver logs (pino's Logger fits). */
export interface LocalDriverLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Everything a pass needs; fixed for the driver's lifetime. */
export interface ReconcilerSettings {
  readonly layout: StateLayout;
  readonly records: RecordStore;
  readonly probes: ReplicaProbes;
  readonly launcherPath: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly baseEnvironment: Readonly<Record<string, string>>;
  readonly dataCollectionDir: string;
  readonly drainGraceMs: number;
  readonly killMarginMs: number;
  readonly maxLogBytes: number;
  readonly backoff: BackoffPolicy;
  readonly backoffResetMs: number;
  readonly log: LocalDriverLogger;
}

/** Makes one service's replicas match its service.json. Passes must not overlap per service. */
export class ServiceReconciler {
  constructor(private readonly s: ReconcilerSettings) {}

  /** One pass at time `now` (epoch ms). */
  async reconcile(key: ServiceKey, now: number): Promise<void> {
    const { layout, records } = this.s;
    const service = await records.service(key);
    const replicas: ReplicaRecord[] = [];
    for (const id of await layout.replicaIds(key)) {
      const record = await records.replica(key, id);
      if (record) replicas.push(record);
      // Created up to its record and no further (the agent died there): nothing of it ran.
      else await this.remove(key, id, undefined);
    }
    if (!service) {
      // Deleted, or the agent died while deleting: nothing is drained, everything goes.
      for (const record of replicas) await this.remove(key, record.id, identity(record));
      await rm(layout.serviceDir(key), { recursive: true, force: true });
      return;
    }

    const observed: ReplicaRecord[] = [];
    for (const record of replicas) observed.push(await this.observe(key, record, now));

    const active = observed.filter(
      (r): r is ReplicaRecord & PlannedReplica => r.phase !== 'terminating',
    );
    const plan = planReplicas(active, service.specHash, service.replicas);
    for (const id of plan.terminate) {
      const index = observed.findIndex((r) => r.id === id);
      const record = observed[index];
      if (record) observed[index] = await this.markTerminating(record, now);
    }
    for (let i = 0; i < plan.create; i += 1) observed.push(await this.create(key, service, now));

    const remaining: ReplicaRecord[] = [];
    for (const record of observed) {
      if (record.phase !== 'terminating' || !(await this.drain(key, record, now))) {
        remaining.push(record);
      }
    }
    const inUse = new Set([service.modelFolder, ...remaining.map((r) => r.modelFolder)]);
    await removeUnusedModelFolders(layout, key, inUse);
  }

  /** Follows a replica that is not terminating: exits, restarts, probe results, recovery. */
  private async observe(key: ServiceKey, record: ReplicaRecord, now: number) {
    if (record.phase === 'terminating') return record;
    let next: ReplicaRecord;
    if (record.pid > 0) {
      next = (await isRunning(identity(record)))
        ? await this.observeRunning(key, record, now)
        : await this.exited(key, record, now, '');
    } else if (record.restartAt === 0) {
      next = await this.recoverStart(key, record, now);
    } else if (now >= record.restartAt) {
      next = await this.startRun(key, { ...record, runs: record.runs + 1 }, now);
    } else {
      next = record;
    }
    if (next !== record) await this.s.records.writeReplica(next);
    return next;
  }

  private async observeRunning(
    key: ServiceKey,
    record: ReplicaRecord,
    now: number,
  ): Promise<ReplicaRecord> {
    let next = record;
    if (next.port === 0) {
      const run = await this.s.records.run(key, next.id);
      if (run && run.launcherPid === next.pid && run.port > 0) next = { ...next, port: run.port };
    }
    this.s.probes.observe(next, now);
    const probe = this.s.probes.state(next);
    const readiness = probe?.readiness;
    if (readiness?.kind === 'ready' && next.phase !== 'ready') {
      next = { ...next, phase: 'ready', readySince: now, crashLooping: false, message: '' };
      this.s.log.info({ replica: next.id, port: next.port }, 'replica ready');
    } else if (
      readiness?.kind === 'init-failed' &&
      (next.phase !== 'failed' || !next.message.startsWith(readiness.reason))
    ) {
      const message = await this.initFailureMessage(key, next.id, readiness.reason);
      next = { ...next, phase: 'failed', crashLooping: true, message };
      this.s.log.warn({ replica: next.id, reason: readiness.reason }, 'replica init() failed');
    }
    if (
      next.phase === 'ready' &&
      now - next.readySince >= this.s.backoffResetMs &&
      next.backoffMs !== this.s.backoff.initialMs
    ) {
      next = { ...next, backoffMs: this.s.backoff.initialMs };
    }
    if (probe && probe.livenessFailures >= next.liveness.failureThreshold) {
      const times =
        probe.livenessFailures === 1 ? 'once' : `${probe.livenessFailures} times in a row`;
      const reason = `liveness probe failed ${times} (${probe.livenessError})`;
      await killReplica(next.id, identity(next));
      return this.exited(key, next, now, reason);
    }
    return next;
  }

  /** The run ended (or was ended for `reason`): say why, clean up, schedule the restart. */
  private async exited(
    key: ServiceKey,
    record: ReplicaRecord,
    now: number,
    reason: string,
  ): Promise<ReplicaRecord> {
    let why = reason;
    if (why === '') {
      const run = await this.s.records.run(key, record.id);
      const exit = run && run.launcherPid === record.pid ? run.exit : null;
      why = !exit
        ? 'its launcher process ended without recording an exit (killed?)'
        : exit.error
          ? `the scoring server could not be started: ${exit.error}`
          : exit.signal
            ? `exited on signal ${exit.signal}`
            : `exited with code ${exit.code}`;
      const lines = await lastLines(this.s.layout.logFile(key, record.id), 200);
      const said = lastErrorOf(parseLogLines(record.id, lines));
      if (said !== '') why += `: ${said}`;
    }
    // Whatever of the run is left (a server whose launcher was killed, workers) goes too.
    await killReplica(record.id, identity(record));
    this.s.probes.forget(record.id);
    const crashLooping = record.crashLooping || record.readySince === 0;
    const delay = record.backoffMs;
    const message = clip(
      record.crashLooping && record.message !== '' ? record.message : `${why}; restarting`,
    );
    await appendDriverNote(
      this.s.layout.logFile(key, record.id),
      `${why}; restart ${record.runs} in ${delay} ms`,
      new Date(now),
    ).catch(() => undefined);
    this.s.log.warn({ replica: record.id, reason: why, delayMs: delay }, 'replica exited');
    return {
      ...record,
      pid: 0,
      pidStart: '',
      port: 0,
      readySince: 0,
      phase: crashLooping ? 'failed' : 'starting',
      message,
      crashLooping,
      restartAt: now + delay,
      backoffMs: nextBackoff(delay, this.s.backoff),
    };
  }

  /**
   * The record says a start was decided but holds no pid: the agent died between the two
   * writes. Adopt the launcher if it got as far as running, else make sure nothing of the
   * replica runs and start it.
   */
  private async recoverStart(
    key: ServiceKey,
    record: ReplicaRecord,
    now: number,
  ): Promise<ReplicaRecord> {
    const run = await this.s.records.run(key, record.id);
    if (run && run.exit === null && run.launcherPid > 0) {
      const start = await processStart(run.launcherPid);
      if (start !== undefined && (await carriesReplicaId(run.launcherPid, record.id))) {
        this.s.log.info({ replica: record.id, pid: run.launcherPid }, 'adopted replica');
        return { ...record, pid: run.launcherPid, pidStart: start };
      }
    }
    await killReplica(record.id, undefined);
    return this.startRun(key, record, now);
  }

  /** Records the decision to start (so a crash here is found), then starts the launcher. */
  private async startRun(
    key: ServiceKey,
    record: ReplicaRecord,
    now: number,
  ): Promise<ReplicaRecord> {
    const decided: ReplicaRecord = {
      ...record,
      pid: 0,
      pidStart: '',
      port: 0,
      readySince: 0,
      restartAt: 0,
      startedAt: now,
    };
    await this.s.records.writeReplica(decided);
    const launch = await this.s.records.launch(key, record.id);
    if (!launch) {
      // Cannot be started again; the plan replaces it with a new replica.
      return { ...decided, phase: 'terminating', stopAt: now, message: 'launch.json is missing' };
    }
    let started: ProcessIdentity;
    try {
      await mkdir(launch.cwd, { recursive: true, mode: 0o700 });
      started = await spawnLauncher(
        this.s.launcherPath,
        this.s.layout.replicaDir(key, record.id),
        this.s.maxLogBytes,
        launch,
      );
    } catch (error) {
      const reason = `could not start: ${error instanceof Error ? error.message : error}`;
      return this.exited(key, { ...decided, pid: 0 }, now, reason);
    }
    this.s.log.info({ replica: record.id, pid: started.pid, run: record.runs }, 'replica started');
    return { ...decided, pid: started.pid, pidStart: started.start };
  }

  private async create(
    key: ServiceKey,
    service: ServiceRecord,
    now: number,
  ): Promise<ReplicaRecord> {
    const { spec } = service;
    const id = newReplicaId(key.service, spec.generation);
    const work = this.s.layout.workDir(key, id);
    await mkdir(work, { recursive: true, mode: 0o700 });
    const env = replicaEnvironment({
      spec,
      replicaId: id,
      modelDir: modelDir(this.s.layout, spec, service.modelFolder),
      dataCollectionDir: this.s.dataCollectionDir,
      baseEnvironment: this.s.baseEnvironment,
    });
    await this.s.records.writeLaunch(key, id, {
      command: this.s.command,
      args: [...this.s.args],
      env,
      cwd: work,
    });
    const record: ReplicaRecord = {
      id,
      workspace: key.workspace,
      service: key.service,
      generation: spec.generation,
      specHash: service.specHash,
      modelFolder: service.modelFolder,
      maxConcurrent: spec.maxConcurrentRequests,
      scoringTimeoutMs: spec.scoringTimeoutMs,
      liveness: { ...spec.liveness },
      createdAt: now,
      runs: 1,
      pid: 0,
      pidStart: '',
      startedAt: now,
      port: 0,
      readySince: 0,
      phase: 'starting',
      message: '',
      crashLooping: false,
      backoffMs: this.s.backoff.initialMs,
      restartAt: 0,
      stopAt: 0,
      killAt: 0,
    };
    const started = await this.startRun(key, record, now);
    await this.s.records.writeReplica(started);
    return started;
  }

  /** Takes a replica out of routing: reported terminating first, stopped after the grace. */
  private async markTerminating(record: ReplicaRecord, now: number): Promise<ReplicaRecord> {
    this.s.probes.forget(record.id);
    // Only a ready replica can be in a routing table; the others can stop at once.
    const grace = record.phase === 'ready' ? this.s.drainGraceMs : 0;
    const next: ReplicaRecord = {
      ...record,
      phase: 'terminating',
      message: '',
      stopAt: now + grace,
      killAt: 0,
    };
    await this.s.records.writeReplica(next);
    this.s.log.info({ replica: record.id, graceMs: grace }, 'replica terminating');
    return next;
  }

  /**
   * Terminating: after the grace SIGTERM (the server finishes what is in flight and exits),
   * after the scoring timeout and a margin SIGKILL; once nothing runs, the directory goes.
   * True when the replica is gone.
   */
  private async drain(key: ServiceKey, record: ReplicaRecord, now: number): Promise<boolean> {
    const running = record.pid > 0 && (await isRunning(identity(record)));
    if (!running || (record.killAt > 0 && now >= record.killAt)) {
      await this.remove(key, record.id, identity(record));
      return true;
    }
    if (record.killAt === 0 && now >= record.stopAt) {
      // To the launcher only: it forwards one SIGTERM (a second would kill the server).
      sendSignal(record.pid, 'SIGTERM');
      await this.s.records.writeReplica({
        ...record,
        killAt: now + record.scoringTimeoutMs + this.s.killMarginMs,
      });
    }
    return false;
  }

  /** Stops everything of a replica and removes its directory. */
  private async remove(
    key: ServiceKey,
    id: string,
    launcher: ProcessIdentity | undefined,
  ): Promise<void> {
    await killReplica(id, launcher);
    this.s.probes.forget(id);
    await rm(this.s.layout.replicaDir(key, id), { recursive: true, force: true });
    this.s.log.info({ replica: id }, 'replica removed');
  }

  private async initFailureMessage(key: ServiceKey, id: string, reason: string): Promise<string> {
    const lines = parseLogLines(id, await lastLines(this.s.layout.logFile(key, id), 400));
    const traceback = lastTracebackOf(lines).trimEnd();
    return clip(traceback === '' ? reason : `${reason}\n${traceback}`);
  }
}

function identity(record: ReplicaRecord): ProcessIdentity {
  return { pid: record.pid, start: record.pidStart };
}

function clip(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE - 1)}…`;
}
