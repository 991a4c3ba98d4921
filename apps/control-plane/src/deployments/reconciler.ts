import { computeJobId, type ComputeJob } from '@skiff/queue';
import type { ServiceRecord, Store } from '@skiff/store';
import type { Logger } from 'pino';
import type { ComputeQueues } from './compute-queues.js';
import type { DeploymentTracker } from './tracker.js';

/**
 * The level-triggered safety net under the job events: at start and every period, it watches
 * every attached compute target (also those attached through another control plane) and, for
 * each service still Transitioning or Deleting, reads its job's state from the queue and
 * applies it — or enqueues the job again when it is missing. So a service never waits for an
 * event nobody saw.
 */
export class DeploymentReconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly queues: ComputeQueues,
    private readonly tracker: DeploymentTracker,
    private readonly log: Logger,
    private readonly periodMs: number,
  ) {}

  /** Reconciles once now, then every period. */
  start(): void {
    const tick = () => {
      this.running ??= this.reconcile()
        .catch((error: unknown) => this.log.warn({ err: error }, 'reconciliation failed'))
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.periodMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over every workspace. */
  async reconcile(): Promise<void> {
    const targets: Array<{ workspace: string; compute: string }> = [];
    const unsettled: ServiceRecord[] = [];
    for (const workspace of await this.store.workspaces.list()) {
      for (const compute of await this.store.computes.list(workspace.name)) {
        targets.push({ workspace: workspace.name, compute: compute.name });
      }
      for (const service of await this.store.services.list(workspace.name)) {
        if (
          service.state === 'deleting' ||
          (service.state === 'transitioning' && service.appliedGeneration < service.generation)
        ) {
          unsettled.push(service);
        }
      }
    }
    await this.queues.sync(targets);
    for (const service of unsettled) {
      await this.settle(service).catch((error: unknown) =>
        this.log.warn(
          { err: error, workspace: service.workspace, service: service.name },
          'could not reconcile a service',
        ),
      );
    }
  }

  private async settle(service: ServiceRecord): Promise<void> {
    const job: ComputeJob = {
      kind: service.state === 'deleting' ? 'delete' : 'deploy',
      workspace: service.workspace,
      service: service.name,
      generation: service.generation,
    };
    const jobId = computeJobId(job);
    const target = { workspace: service.workspace, compute: service.compute };
    const status = await this.queues.status(target, jobId);
    if (!status) {
      // Stored but never enqueued (the control plane stopped in between), or removed from
      // BullMQ's history before anyone applied it: the agent makes it so again, idempotently.
      const { created } = await this.queues.enqueue(service.compute, job);
      if (created) this.log.info({ jobId }, 'enqueued a missing job again');
      return;
    }
    if (status.state === 'pending') return;
    await this.tracker.applyOutcome(job, status);
  }
}
