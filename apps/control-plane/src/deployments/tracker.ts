import { isErrorKind } from '@skiff/errors';
import { computeJobId, JobProgress } from '@skiff/queue';
import { UNCHANGED, type Store } from '@skiff/store';
import type { Logger } from 'pino';
import type { JobEvent } from './compute-queues.js';
import { recordEvent, servicesTopic, serviceTopic } from './events.js';
import { PerKeySerial } from './serial.js';

/** The job a deterministic id names. */
export interface JobRef {
  kind: 'deploy' | 'delete' | 'scale';
  workspace: string;
  service: string;
  generation: number;
}

/** Parses a deterministic job id (`kind.workspace.service.generation[.replicas]`). */
export function parseJobId(jobId: string): JobRef | undefined {
  const [kind, workspace, service, generation] = jobId.split('.');
  if (kind !== 'deploy' && kind !== 'delete' && kind !== 'scale') return undefined;
  if (!workspace || !service || !generation || !/^\d+$/.test(generation)) return undefined;
  return { kind, workspace, service, generation: Number(generation) };
}

/** What a deploy job returns when it finishes (the agent's report). */
interface DeployResult {
  readyReplicas?: number;
  desiredReplicas?: number;
}

/** Options of {@link DeploymentTracker}. */
export interface TrackerOptions {
  /**
   * Waits between attempts to apply an event while the state store is unreachable; the
   * event is given up after the last (the reconciler applies the job's final state later).
   * Default: 0.1 s doubling to 5 s, about a minute in all.
   */
  retryDelaysMs?: readonly number[];
}

const DEFAULT_RETRY_DELAYS_MS = [
  100,
  200,
  400,
  800,
  1_600,
  3_200,
  ...Array<number>(10).fill(5_000),
];

/**
 * Turns job events from the agents into deployment events and service state.
 *
 * - Every control plane receives every queue event; applying one twice changes nothing: state
 *   changes check generations, and each event is recorded once (by the queue event's id, or
 *   by the job's id for its outcome, which the reconciler also applies).
 * - Events of one service are applied one at a time in the order they arrived, so late
 *   progress never overwrites a completion; progress of a generation already applied is
 *   dropped.
 * - An event is applied first and marked recorded in the same step; a failure (Redis away)
 *   is retried, never swallowed by an earlier claim.
 */
export class DeploymentTracker {
  private readonly serial = new PerKeySerial();
  private readonly retryDelaysMs: readonly number[];
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    options: TrackerOptions = {},
  ) {
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  }

  readonly onJobEvent = async (
    _workspace: string,
    _compute: string,
    event: JobEvent,
  ): Promise<void> => {
    const job = parseJobId(event.jobId);
    if (!job || job.kind === 'scale') return;
    await this.apply(job, () => {
      if (event.kind === 'progress') return this.progress(job, event.data, event.eventId);
      if (event.kind === 'completed') return this.completed(job, event.result);
      return this.failed(job, event.reason);
    });
  };

  /** Applies a job's outcome read from the queue (the reconciler's path). */
  async applyOutcome(
    job: JobRef,
    outcome: { state: 'completed'; result: unknown } | { state: 'failed'; reason: string },
  ): Promise<void> {
    await this.apply(job, () =>
      outcome.state === 'completed'
        ? this.completed(job, outcome.result)
        : this.failed(job, outcome.reason),
    );
  }

  /** Stops retrying (the control plane is stopping). */
  stop(): void {
    this.stopped = true;
  }

  /** Runs `step` in the service's order, retrying while the state store is unreachable. */
  private apply(job: JobRef, step: () => Promise<void>): Promise<void> {
    return this.serial.run(`${job.workspace}/${job.service}`, async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await step();
        } catch (error) {
          const delay = this.retryDelaysMs[attempt];
          if (!isErrorKind(error, 'unavailable') || delay === undefined || this.stopped)
            throw error;
          this.log.warn(
            { err: error, job, attempt },
            'state store unavailable; retrying the job event',
          );
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    });
  }

  private async progress(job: JobRef, data: unknown, eventId: string): Promise<void> {
    const parsed = JobProgress.safeParse(data);
    if (!parsed.success) {
      this.log.warn({ job, data }, 'ignoring malformed job progress');
      return;
    }
    const { step, message, readyReplicas, desiredReplicas } = parsed.data;
    if (readyReplicas !== undefined) {
      await this.store.services.mutate(job.workspace, job.service, (current) =>
        current &&
        current.generation === job.generation &&
        current.appliedGeneration < job.generation &&
        current.readyReplicas !== readyReplicas
          ? { ...current, readyReplicas }
          : UNCHANGED,
      );
    }
    const replicas =
      readyReplicas !== undefined && desiredReplicas !== undefined
        ? { replicas: { ready: readyReplicas, desired: desiredReplicas, inFlight: 0, queued: 0 } }
        : undefined;
    await recordEvent(
      this.store,
      job.workspace,
      job.service,
      job.generation,
      { step, message, ...(replicas ? { detail: replicas } : {}) },
      { onceId: eventId, unappliedOnly: true },
    );
  }

  private async completed(job: JobRef, result: unknown): Promise<void> {
    if (job.kind === 'delete') {
      const current = await this.store.services.get(job.workspace, job.service);
      if (current?.state === 'deleting') {
        if (await this.store.services.purge(job.workspace, job.service, current.generation)) {
          await this.store.feed.publish(serviceTopic(job.workspace, job.service));
          await this.store.feed.publish(servicesTopic(job.workspace));
        }
      }
      return;
    }
    const report = (typeof result === 'object' && result !== null ? result : {}) as DeployResult;
    const updated = await this.store.services.mutate(job.workspace, job.service, (current) => {
      if (!current || current.appliedGeneration >= job.generation) return UNCHANGED;
      const isCurrent = current.generation === job.generation && current.state !== 'deleting';
      return {
        ...current,
        appliedGeneration: job.generation,
        ...(isCurrent
          ? {
              state: 'healthy' as const,
              readyReplicas: report.readyReplicas ?? current.desiredReplicas,
            }
          : {}),
      };
    });
    const ready = report.readyReplicas ?? updated?.readyReplicas ?? 0;
    const desired = report.desiredReplicas ?? updated?.desiredReplicas ?? ready;
    await recordEvent(
      this.store,
      job.workspace,
      job.service,
      job.generation,
      {
        step: 'HEALTHY',
        message: `Healthy: ${ready}/${desired} replicas ready`,
        terminal: true,
        detail: { replicas: { ready, desired, inFlight: 0, queued: 0 } },
      },
      { onceId: `${computeJobId({ ...job, kind: 'deploy' })}.outcome` },
    );
  }

  private async failed(job: JobRef, reason: string): Promise<void> {
    if (job.kind === 'delete') {
      this.log.error({ job, reason }, 'delete job failed; the service stays in Deleting');
      return;
    }
    const code = reason.split(':')[0]?.match(/^[A-Z][A-Za-z]+$/)
      ? (reason.split(':')[0] ?? 'DeploymentFailed')
      : 'DeploymentFailed';
    await this.store.services.mutate(job.workspace, job.service, (current) =>
      current &&
      current.generation === job.generation &&
      current.appliedGeneration < job.generation &&
      current.state !== 'deleting' &&
      current.state !== 'failed'
        ? { ...current, state: 'failed', error: { code, message: reason } }
        : UNCHANGED,
    );
    const logs = await this.store.logs.tail(job.workspace, job.service, 50);
    await recordEvent(
      this.store,
      job.workspace,
      job.service,
      job.generation,
      {
        step: 'FAILED',
        message: `Failed: ${reason}`,
        terminal: true,
        detail: {
          failure: {
            code,
            message: reason,
            replicaLogs: logs.map((line) => ({ ...line })),
          },
        },
      },
      { onceId: `${computeJobId({ ...job, kind: 'deploy' })}.outcome` },
    );
  }
}
