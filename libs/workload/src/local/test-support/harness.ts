// Test helpers for the local driver: real scoring-server processes (started by path through the
// app's bin, never imported), the repository's examples as entry scripts, a scoring client that
// keeps sending to whatever the driver lists as ready, and process/file checks for leftovers.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Replica, ServiceKey, WorkloadSpec } from '../../driver.js';
import { LocalProcessDriver } from '../local-process-driver.js';
import type { LocalProcessDriverOptions } from '../options.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
export const SCORING_SERVER_BIN = join(
  REPO_ROOT,
  'apps/scoring-server/bin/skiff-scoring-server.js',
);
export const EXAMPLES = join(REPO_ROOT, 'examples');

/** One iris flower and what the example models answer for it. */
export const SETOSA = { data: [[5.1, 3.5, 1.4, 0.2]] };

/** A new service key no other test uses (tests run in parallel on one machine). */
export function uniqueKey(): ServiceKey {
  return { workspace: `ws-${randomUUID().slice(0, 8)}`, service: 'iris' };
}

/** The iris-python example as a spec: one model, small liveness values. */
export function irisSpec(key: ServiceKey, overrides: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return {
    ...key,
    generation: 1,
    replicas: 1,
    namespace: 'default',
    environmentHash: 'test',
    image: '',
    entryScript: 'score.py',
    runtime: 'python',
    sourceDir: join(EXAMPLES, 'iris-python'),
    snapshotDigest: '',
    models: [
      { name: 'iris-logreg', version: 1, digest: '', path: join(EXAMPLES, 'models/iris-logreg/1') },
    ],
    environmentVariables: {},
    resources: { cpu: 0.1, memoryInGB: 0.5, gpu: 0, fpga: 0 },
    // Generous initial delay: on a busy machine a start must not be mistaken for a hang.
    liveness: {
      periodSeconds: 1,
      initialDelaySeconds: 10,
      timeoutSeconds: 2,
      successThreshold: 1,
      failureThreshold: 3,
    },
    maxConcurrentRequests: 2,
    scoringTimeoutMs: 5_000,
    dataCollection: false,
    ...overrides,
  };
}

/** A driver on a fresh state directory with quick test timings; `dispose` removes the state. */
export async function openTestDriver(
  options: Partial<LocalProcessDriverOptions> = {},
): Promise<{ driver: LocalProcessDriver; stateDir: string; dispose: () => Promise<void> }> {
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'skiff-local-')));
  const driver = await LocalProcessDriver.open({ ...testDriverOptions(stateDir), ...options });
  return {
    driver,
    stateDir,
    dispose: async () => {
      await driver.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** The options tests use: the real scoring server, short intervals. */
export function testDriverOptions(stateDir: string): LocalProcessDriverOptions {
  return {
    stateDir,
    command: process.execPath,
    args: [SCORING_SERVER_BIN],
    superviseIntervalMs: 100,
    drainGraceMs: 1_000,
    killMarginMs: 2_000,
    restartBackoffMs: 500,
    logPollIntervalMs: 100,
  };
}

/** Polls `probe` until it returns something other than undefined/false; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  describe: () => Promise<unknown> | unknown = () => undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(await describe())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until `count` replicas of the service are ready (and none other is listed). */
export async function waitForReady(
  driver: LocalProcessDriver,
  key: ServiceKey,
  count: number,
  match: (r: Replica) => boolean = () => true,
): Promise<Replica[]> {
  return waitFor(
    `${count} ready replicas of ${key.workspace}/${key.service}`,
    async () => {
      const replicas = await driver.listReplicas(key);
      const ready = replicas.filter((r) => r.phase === 'ready' && match(r));
      return ready.length === count && replicas.length === count ? ready : undefined;
    },
    45_000,
    () => driver.listReplicas(key),
  );
}

/** POSTs to a replica's /score. */
export async function score(
  address: string,
  body: unknown = SETOSA,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`http://${address}/score`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

/** What a {@link ScoringLoad} saw. */
export interface LoadReport {
  readonly ok: number;
  readonly failures: readonly string[];
  /** Successful requests per replica id. */
  readonly byReplica: ReadonlyMap<string, number>;
}

/**
 * Keeps `concurrency` clients scoring the replicas the driver lists as ready, as a router does:
 * from a routing table refreshed every `refreshMs` (a router learns of changes one report
 * later, which is why a replica must stay reachable for a while after it is listed as
 * terminating). No more clients than {@link irisSpec}'s maxConcurrentRequests: a replica answers
 * 503 past its limit, and queueing is the router's job, not this client's.
 */
export class ScoringLoad {
  private running = true;
  private ok = 0;
  private readonly failures: string[] = [];
  private readonly byReplica = new Map<string, number>();
  private readonly loops: Promise<void>[] = [];
  private table: Replica[] = [];
  private turn = 0;

  constructor(
    private readonly driver: LocalProcessDriver,
    private readonly key: ServiceKey,
    concurrency = 2,
    private readonly refreshMs = 300,
  ) {
    this.loops.push(this.refresh());
    for (let i = 0; i < concurrency; i += 1) this.loops.push(this.loop());
  }

  /** Successful requests so far. */
  get succeeded(): number {
    return this.ok;
  }

  async stop(): Promise<LoadReport> {
    this.running = false;
    await Promise.all(this.loops);
    return { ok: this.ok, failures: this.failures, byReplica: this.byReplica };
  }

  private async refresh(): Promise<void> {
    while (this.running) {
      const listed = await this.driver.listReplicas(this.key);
      this.table = listed.filter((r) => r.phase === 'ready');
      await new Promise((resolve) => setTimeout(resolve, this.refreshMs));
    }
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const replica = this.table[this.turn++ % Math.max(1, this.table.length)];
      if (!replica) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      try {
        const { status, json } = await score(replica.address);
        if (status === 200) {
          this.ok += 1;
          this.byReplica.set(replica.id, (this.byReplica.get(replica.id) ?? 0) + 1);
        } else {
          this.failures.push(`${replica.id} ${replica.address}: ${status} ${JSON.stringify(json)}`);
        }
      } catch (error) {
        this.failures.push(`${replica.id} ${replica.address}: ${String(error)}`);
      }
    }
  }
}

/** One process of a replica, found by its environment. */
export interface ServiceProcess {
  readonly pid: number;
  readonly replicaId: string;
}

/**
 * Every process started for a service (launchers, scoring servers, Python workers): they all
 * carry SKIFF_SERVICE_ID=<workspace>/<service> and their SKIFF_REPLICA_ID in their environment.
 */
export async function processesOfService(key: ServiceKey): Promise<ServiceProcess[]> {
  const marker = `SKIFF_SERVICE_ID=${key.workspace}/${key.service}`;
  const found: ServiceProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = (await readFile(`/proc/${entry}/environ`, 'utf8')).split('\0');
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
      if (state === 'Z' || !environ.includes(marker)) continue;
      const id = environ.find((v) => v.startsWith('SKIFF_REPLICA_ID='));
      found.push({ pid: Number(entry), replicaId: id?.slice('SKIFF_REPLICA_ID='.length) ?? '' });
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

/** The replica ids that have at least one process running. */
export async function runningReplicaIds(key: ServiceKey): Promise<string[]> {
  return [...new Set((await processesOfService(key)).map((p) => p.replicaId))].sort();
}

/**
 * Starts a stand-in agent process that opens a driver on `stateDir` and applies `spec`
 * (test-support/agent-child.ts, run from sources like every app's bin).
 */
export function startAgentChild(stateDir: string, spec: WorkloadSpec): ChildProcess {
  const register = join(REPO_ROOT, 'tools/source-runtime/register.mjs');
  const script = fileURLToPath(new URL('./agent-child.ts', import.meta.url));
  return spawn(process.execPath, ['--import', register, script, stateDir, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** The scoring server's pid of a replica, from the launcher's run.json. */
export async function serverPid(stateDir: string, key: ServiceKey, id: string): Promise<number> {
  const file = join(stateDir, key.workspace, key.service, id, 'run.json');
  const run = JSON.parse(await readFile(file, 'utf8')) as { serverPid: number };
  return run.serverPid;
}
