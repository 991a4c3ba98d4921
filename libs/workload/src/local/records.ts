// The files that say what exists, and their shapes. Each file has one writer: service.json and
// replica.json the driver, run.json the replica's launcher. Readers treat a file that does not
// parse as absent, so a damaged record is cleaned up like a half-created one.
import { z } from 'zod';
import type { ServiceKey, WorkloadSpec } from '../driver.js';
import { readJson, writeJsonAtomic } from './files.js';
import type { StateLayout } from './layout.js';

/** service.json: what the agent last asked for. */
export interface ServiceRecord {
  /** The last applied spec; its `replicas` is superseded by {@link ServiceRecord.replicas}. */
  readonly spec: WorkloadSpec;
  readonly specHash: string;
  readonly replicas: number;
  /** Folder under models/ holding the spec's model links; '' with fewer than two models. */
  readonly modelFolder: string;
}

const serviceRecord = z.object({
  spec: z.custom<WorkloadSpec>(
    (value) => typeof value === 'object' && value !== null && 'generation' in value,
  ),
  specHash: z.string().min(1),
  replicas: z.number().int().min(0),
  modelFolder: z.string(),
});

const phase = z.enum(['starting', 'ready', 'failed', 'terminating']);

const replicaRecord = z.object({
  id: z.string(),
  workspace: z.string(),
  service: z.string(),
  generation: z.number().int(),
  specHash: z.string(),
  modelFolder: z.string(),
  maxConcurrent: z.number().int(),
  scoringTimeoutMs: z.number().int(),
  liveness: z.object({
    periodSeconds: z.number(),
    initialDelaySeconds: z.number(),
    timeoutSeconds: z.number(),
    successThreshold: z.number(),
    failureThreshold: z.number(),
  }),
  createdAt: z.number(),
  runs: z.number().int().min(0),
  pid: z.number().int().min(0),
  pidStart: z.string(),
  startedAt: z.number(),
  port: z.number().int().min(0),
  readySince: z.number(),
  phase,
  message: z.string(),
  crashLooping: z.boolean(),
  backoffMs: z.number(),
  restartAt: z.number(),
  stopAt: z.number(),
  killAt: z.number(),
});

/**
 * replica.json. Times are epoch milliseconds, 0 meaning "not set". The run states:
 * `pid > 0` a launcher was started (alive or not, the supervisor finds out); `pid == 0` and
 * `restartAt > 0` waiting to be started at `restartAt`; `pid == 0` and `restartAt == 0` a start
 * was decided and the agent may have died before recording the pid (look for the process).
 */
export type ReplicaRecord = z.infer<typeof replicaRecord>;

/** launch.json: everything needed to start the replica again, written once at creation. */
export interface LaunchRecord {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

const launchRecord = z.object({
  command: z.string().min(1),
  args: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  cwd: z.string(),
});

/** run.json: what the launcher of the current run knows (its pid, the port, how it ended). */
export interface RunRecord {
  readonly launcherPid: number;
  readonly serverPid: number;
  readonly port: number;
  readonly exit: {
    readonly code: number | null;
    readonly signal: string | null;
    readonly error: string | null;
  } | null;
}

const runRecord = z.object({
  launcherPid: z.number().int(),
  serverPid: z.number().int(),
  port: z.number().int(),
  exit: z
    .object({
      code: z.number().int().nullable(),
      signal: z.string().nullable(),
      error: z.string().nullable(),
    })
    .nullable(),
});

/** Reads and writes the records of one state directory. */
export class RecordStore {
  constructor(readonly layout: StateLayout) {}

  async service(key: ServiceKey): Promise<ServiceRecord | undefined> {
    const parsed = serviceRecord.safeParse(await readJson(this.layout.serviceFile(key)));
    return parsed.success ? parsed.data : undefined;
  }
  async writeService(key: ServiceKey, record: ServiceRecord): Promise<void> {
    await writeJsonAtomic(this.layout.serviceFile(key), record);
  }

  async replica(key: ServiceKey, id: string): Promise<ReplicaRecord | undefined> {
    const parsed = replicaRecord.safeParse(await readJson(this.layout.replicaFile(key, id)));
    return parsed.success && parsed.data.id === id ? parsed.data : undefined;
  }
  async writeReplica(record: ReplicaRecord): Promise<void> {
    await writeJsonAtomic(this.layout.replicaFile(record, record.id), record);
  }

  /** Every readable replica record of a service; directories without one are skipped. */
  async replicas(key: ServiceKey): Promise<ReplicaRecord[]> {
    const records = await Promise.all(
      (await this.layout.replicaIds(key)).map((id) => this.replica(key, id)),
    );
    return records.filter((record) => record !== undefined);
  }

  async launch(key: ServiceKey, id: string): Promise<LaunchRecord | undefined> {
    const parsed = launchRecord.safeParse(await readJson(this.layout.launchFile(key, id)));
    return parsed.success ? parsed.data : undefined;
  }
  async writeLaunch(key: ServiceKey, id: string, record: LaunchRecord): Promise<void> {
    await writeJsonAtomic(this.layout.launchFile(key, id), record);
  }

  async run(key: ServiceKey, id: string): Promise<RunRecord | undefined> {
    const parsed = runRecord.safeParse(await readJson(this.layout.runFile(key, id)));
    return parsed.success ? parsed.data : undefined;
  }
}
