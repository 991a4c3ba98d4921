import { Autoscaler, type AutoscalePolicy, type ScaleDecision } from '@skiff/autoscale';
import { WebserviceSpec } from '@skiff/proto';
import type { ComputeJob } from '@skiff/queue';
import { processLeaseHolder, UNCHANGED, type ServiceRecord, type Store } from '@skiff/store';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { placeable } from './capacity.js';

/** Where scale jobs go (the control plane's ComputeQueues). */
export interface ScaleJobSink {
  enqueue(compute: string, job: ComputeJob): Promise<unknown>;
}

/** Options of {@link AutoscalerLoop}. */
export interface AutoscalerLoopOptions {
  readonly store: Store;
  readonly queues: ScaleJobSink;
  readonly log: Logger;
  readonly registry?: Registry;
  /** How often demand is sampled (and decisions are due); default 500 ms. */
  readonly tickMs?: number;
  /** An agent report is trusted this long (three report intervals). */
  readonly agentReportTtlMs: number;
  /** Current time in ms; tests pass their own clock. */
  readonly now?: () => number;
}

const LEASE = 'autoscaler';

interface Tracked {
  /** The policy the autoscaler was built for (a changed spec builds a new one). */
  readonly policyKey: string;
  readonly autoscaler: Autoscaler;
  /** When the last decision was taken (ms); one per refresh period. */
  decidedAt: number;
}

/** The autoscaling policy of a service, or undefined when its replica count is fixed. */
export function autoscalePolicy(record: ServiceRecord): AutoscalePolicy | undefined {
  const dc = WebserviceSpec.fromJSON(record.spec).deploymentConfig;
  const a = dc?.autoScaler;
  if (!dc || !a || dc.numReplicas !== undefined || a.autoscaleEnabled !== true) return undefined;
  const refresh = a.refreshPeriod ? a.refreshPeriod.seconds + a.refreshPeriod.nanos / 1e9 : 1;
  return {
    minReplicas: a.minReplicas ?? 1,
    maxReplicas: a.maxReplicas ?? 10,
    targetUtilizationPercent: a.targetUtilization ?? 70,
    maxConcurrentPerReplica: dc.maxConcurrentRequestsPerContainer ?? 1,
    refreshPeriodSeconds: refresh > 0 ? refresh : 1,
  };
}

/**
 * The control plane's autoscaler (SPEC.md §4): every tick, for each autoscaled service, it
 * samples demand — requests in flight at its replicas (agent reports) plus requests queued in
 * routers (router reports) — into a `libs/autoscale` Autoscaler, and once per refresh period
 * asks it for a decision. A decision that changes the desired count is stored with the next
 * per-service sequence number and enqueued as a `scale` job; agents skip a job whose sequence
 * is older than the service's latest.
 *
 * One control plane runs it at a time (a Redis lease); a new holder re-enqueues each
 * service's latest decision (idempotent by job id), so a decision stored just before a crash
 * is not lost. Fixed-count services are never scaled.
 */
export class AutoscalerLoop {
  readonly #options: AutoscalerLoopOptions;
  readonly #holder = processLeaseHolder();
  readonly #tracked = new Map<string, Tracked>();
  /** Decisions stored but not enqueued yet (Redis was away); retried every tick. */
  readonly #unsent = new Map<string, { compute: string; job: ComputeJob }>();
  readonly #tickMs: number;
  readonly #now: () => number;
  #leading = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  readonly #decisions: Counter<'kind'> | undefined;
  readonly #replicas: Gauge<'workspace' | 'service' | 'count'> | undefined;

  constructor(options: AutoscalerLoopOptions) {
    this.#options = options;
    this.#tickMs = options.tickMs ?? 500;
    this.#now = options.now ?? Date.now;
    if (options.registry) {
      this.#decisions = new Counter({
        name: 'skiff_autoscaler_decisions_total',
        help: 'Autoscaler decisions that changed a service’s desired replica count, by kind.',
        labelNames: ['kind'],
        registers: [options.registry],
      });
      this.#replicas = new Gauge({
        name: 'skiff_service_replicas',
        help: 'Replicas of autoscaled services: desired (the last decision), ready and current.',
        labelNames: ['workspace', 'service', 'count'],
        registers: [options.registry],
      });
    }
  }

  start(): void {
    const loop = () => {
      this.#running = this.tick()
        .catch((error: unknown) =>
          this.#options.log.warn({ err: error }, 'autoscaler tick failed; retrying'),
        )
        .finally(() => {
          if (this.#timer !== undefined) this.#timer = setTimeout(loop, this.#tickMs);
        });
    };
    this.#timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    const timer = this.#timer;
    this.#timer = undefined;
    clearTimeout(timer);
    await this.#running;
  }

  /** One round: hold the lease, sample every autoscaled service, decide those that are due. */
  async tick(): Promise<void> {
    const { store } = this.#options;
    const leading = await store.leases.lease(LEASE, this.#holder, this.#tickMs * 4 + 1_000);
    if (!leading) {
      if (this.#leading)
        this.#options.log.info('autoscaler lease lost; another control plane decides');
      this.#leading = false;
      this.#tracked.clear();
      return;
    }
    const resume = !this.#leading;
    this.#leading = true;
    for (const [key, unsent] of this.#unsent) {
      await this.#options.queues.enqueue(unsent.compute, unsent.job);
      this.#unsent.delete(key);
    }
    const seen = new Set<string>();
    for (const workspace of await store.workspaces.list()) {
      const services = await store.services.list(workspace.name);
      for (const compute of new Set(services.map((record) => record.compute))) {
        const onCompute = services.filter((record) => record.compute === compute);
        await this.#sampleCompute(workspace.name, compute, onCompute, seen, resume);
      }
    }
    for (const key of this.#tracked.keys()) {
      if (seen.has(key)) continue;
      this.#tracked.delete(key);
      // A deleted (or no longer autoscaled) service leaves no stale series behind.
      const [workspace = '', service = ''] = key.split('/');
      for (const count of ['desired', 'ready', 'current']) {
        this.#replicas?.remove({ workspace, service, count });
      }
    }
  }

  async #sampleCompute(
    workspace: string,
    compute: string,
    services: readonly ServiceRecord[],
    seen: Set<string>,
    resume: boolean,
  ): Promise<void> {
    const { store } = this.#options;
    const scaled = services.flatMap((record) => {
      const policy = autoscalePolicy(record);
      return policy && record.state !== 'deleting' && record.state !== 'failed'
        ? [{ record, policy }]
        : [];
    });
    if (scaled.length === 0) return;
    const now = this.#now();
    const replicas = await store.agents.replicas(workspace, compute);
    const routers = await store.routing.load(workspace, compute);
    const agents = (await store.agents.list(workspace, compute)).filter(
      (agent) => now - Date.parse(agent.lastSeen) <= this.#options.agentReportTtlMs,
    );
    for (const { record, policy } of scaled) {
      const key = `${workspace}/${record.name}`;
      seen.add(key);
      if (resume && record.lastScale && (record.scaleSequence ?? 0) > 0) {
        await this.#enqueue(record, record.lastScale.reason);
      }
      const tracked = this.#track(key, policy, now);
      const own = replicas.filter((replica) => replica.service === record.name);
      const ready = own.filter((replica) => replica.phase === 'ready');
      tracked.autoscaler.observe({
        at: now,
        inFlight: ready.reduce((sum, replica) => sum + replica.inFlight, 0),
        queued: routers.get(record.name)?.queued ?? 0,
        readyReplicas: ready.length,
      });
      this.#replicas?.set(
        { workspace, service: record.name, count: 'desired' },
        record.desiredReplicas,
      );
      this.#replicas?.set({ workspace, service: record.name, count: 'ready' }, ready.length);
      this.#replicas?.set(
        { workspace, service: record.name, count: 'current' },
        own.filter((replica) => replica.phase !== 'failed').length,
      );
      if (now - tracked.decidedAt < policy.refreshPeriodSeconds * 1_000) continue;
      tracked.decidedAt = now;
      const decision = tracked.autoscaler.decide(now, { replicas: record.desiredReplicas });
      if (decision.replicas === record.desiredReplicas) continue;
      const others = services.filter((other) => other.name !== record.name);
      await this.#apply(record, this.#bounded(decision, record, others, agents));
    }
  }

  #track(key: string, policy: AutoscalePolicy, now: number): Tracked {
    const policyKey = JSON.stringify(policy);
    const existing = this.#tracked.get(key);
    if (existing?.policyKey === policyKey) return existing;
    const tracked = { policyKey, autoscaler: new Autoscaler(policy), decidedAt: now };
    this.#tracked.set(key, tracked);
    return tracked;
  }

  /** A scale-up stops at what the compute target can place, and says so. */
  #bounded(
    decision: ScaleDecision,
    record: ServiceRecord,
    others: readonly ServiceRecord[],
    agents: Parameters<typeof placeable>[2],
  ): ScaleDecision {
    if (decision.replicas <= record.desiredReplicas) return decision;
    const room = placeable(record, others, agents);
    if (decision.replicas <= room.replicas) return decision;
    const replicas = Math.max(record.desiredReplicas, room.replicas);
    return {
      replicas,
      kind: decision.kind,
      reason: `${decision.reason}; only ${replicas} can be placed (${room.limitedBy})`,
    };
  }

  async #apply(record: ServiceRecord, decision: ScaleDecision): Promise<void> {
    if (decision.replicas === record.desiredReplicas) {
      this.#options.log.warn(
        { workspace: record.workspace, service: record.name, reason: decision.reason },
        'autoscaler wants more replicas than the compute target can place',
      );
      return;
    }
    const time = new Date(this.#now()).toISOString();
    const updated = await this.#options.store.services.mutate(
      record.workspace,
      record.name,
      (current) => {
        // Someone else changed the service since it was read: decide again next period.
        if (
          !current ||
          current.state === 'deleting' ||
          current.desiredReplicas !== record.desiredReplicas ||
          current.generation !== record.generation
        ) {
          return UNCHANGED;
        }
        const sequence = (current.scaleSequence ?? 0) + 1;
        return {
          ...current,
          desiredReplicas: decision.replicas,
          scaleSequence: sequence,
          lastScale: {
            replicas: decision.replicas,
            kind: decision.kind,
            reason: decision.reason,
            time,
            sequence,
          },
          updatedAt: time,
        };
      },
    );
    if (!updated || updated.scaleSequence === record.scaleSequence) return;
    this.#decisions?.inc({ kind: decision.kind });
    this.#options.log.info(
      {
        workspace: record.workspace,
        service: record.name,
        from: record.desiredReplicas,
        to: decision.replicas,
        sequence: updated.scaleSequence,
      },
      decision.reason,
    );
    await this.#enqueue(updated, decision.reason);
  }

  /** Enqueues the scale job of the service's latest decision (idempotent by its id). */
  async #enqueue(record: ServiceRecord, reason: string): Promise<void> {
    const job: ComputeJob = {
      kind: 'scale',
      workspace: record.workspace,
      service: record.name,
      generation: record.generation,
      replicas: record.desiredReplicas,
      reason,
      sequence: record.scaleSequence ?? 1,
    };
    try {
      await this.#options.queues.enqueue(record.compute, job);
    } catch (error) {
      this.#unsent.set(`${record.workspace}/${record.name}`, { compute: record.compute, job });
      throw error;
    }
  }
}
