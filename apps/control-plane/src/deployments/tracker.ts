import { JobProgress } from '@skiff/queue';
import { UNCHANGED, type Store } from '@skiff/store';
import type { Logger } from 'pino';
import type { JobEvent } from './compute-queues.js';
import { recordEvent, serviceTopic } from './events.js';

interface JobRef {
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

/**
 * Turns job events from the agents into deployment events and service state. Several
 * control-plane processes may receive the same queue event; each event is handled once
 * (claimed by its id in Redis). A job of an older generation than the service's current one
 * records its events but never changes the service's state.
 */
export class DeploymentTracker {
  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  readonly onJobEvent = async (
    _workspace: string,
    _compute: string,
    event: JobEvent,
  ): Promise<void> => {
    const job = parseJobId(event.jobId);
    if (!job || job.kind === 'scale') return;
    if (!(await this.store.claimOnce(`job-event:${event.eventId}:${event.jobId}`, 86_400))) return;
    if (event.kind === 'progress') await this.progress(job, event.data);
    else if (event.kind === 'completed') await this.completed(job, event.result);
    else await this.failed(job, event.reason);
  };

  private async progress(job: JobRef, data: unknown): Promise<void> {
    const parsed = JobProgress.safeParse(data);
    if (!parsed.success) {
      this.log.warn({ job, data }, 'ignoring malformed job progress');
      return;
    }
    const { step, message, readyReplicas, desiredReplicas } = parsed.data;
    const replicas =
      readyReplicas !== undefined && desiredReplicas !== undefined
        ? { replicas: { ready: readyReplicas, desired: desiredReplicas, inFlight: 0, queued: 0 } }
        : undefined;
    await recordEvent(this.store, job.workspace, job.service, job.generation, {
      step,
      message,
      ...(replicas ? { detail: replicas } : {}),
    });
    if (readyReplicas !== undefined) {
      await this.store.services.mutate(job.workspace, job.service, (current) =>
        current && current.generation === job.generation
          ? { ...current, readyReplicas }
          : UNCHANGED,
      );
    }
  }

  private async completed(job: JobRef, result: unknown): Promise<void> {
    if (job.kind === 'delete') {
      const current = await this.store.services.get(job.workspace, job.service);
      if (current && current.state === 'deleting') {
        await this.store.services.purge(job.workspace, job.service);
        await this.store.feed.publish(serviceTopic(job.workspace, job.service));
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
    await recordEvent(this.store, job.workspace, job.service, job.generation, {
      step: 'HEALTHY',
      message: `Healthy: ${ready}/${desired} replicas ready`,
      terminal: true,
      detail: { replicas: { ready, desired, inFlight: 0, queued: 0 } },
    });
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
      current && current.generation === job.generation && current.state !== 'deleting'
        ? { ...current, state: 'failed', error: { code, message: reason } }
        : UNCHANGED,
    );
    const logs = await this.store.logs.tail(job.workspace, job.service, 50);
    await recordEvent(this.store, job.workspace, job.service, job.generation, {
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
    });
  }
}
