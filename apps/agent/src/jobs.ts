import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { SkiffClient } from '@skiff/client';
import { SkiffApiError } from '@skiff/client';
import { WebserviceState, type GetDeploymentResponse } from '@skiff/proto';
import type { ComputeJobHandlers, DeleteJob, DeployJob, JobContext, ScaleJob } from '@skiff/queue';
import type { Replica, ServiceKey, WorkloadDriver } from '@skiff/workload';
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { ArtifactCache } from './artifact-cache.js';
import type { EnvironmentStep } from './environment.js';
import { readinessDeadlineMs, workloadSpecOf } from './workload-spec.js';

/** What a job did, as DeploymentTracker reads it. */
export interface JobResult {
  readyReplicas?: number;
  desiredReplicas?: number;
  /** Why nothing was done (an older generation, a deleted service). */
  skipped?: string;
}

/** Options of {@link DeploymentJobs}. */
export interface DeploymentJobsOptions {
  client: SkiffClient;
  driver: WorkloadDriver;
  cache: ArtifactCache;
  /** Makes the deployment's environment available: nothing locally, the image on Kubernetes. */
  environment: EnvironmentStep;
  workspace: string;
  nodeName: string;
  log: Logger;
  /** Sends the replicas' buffered log lines now (before a failure is reported). */
  flushLogs: () => Promise<void>;
  /**
   * Reports this node's replicas to the control plane now, so routers route to a replica as
   * soon as it is ready — before the job reports it — rather than at the next interval.
   */
  reportReplicas?: () => Promise<void>;
  /** How often readiness is checked while a deploy waits; default 250 ms. */
  pollMs?: number;
}

/**
 * The agent's deploy, scale and delete jobs. Each reads what the service should be (from the
 * control plane, never from the job alone), makes the runtime match it through the driver and
 * waits until it does; a job for an older generation than the one that runs now is a no-op.
 * Jobs of one service run one at a time. Permanent failures fail the job at once with
 * `Code: sentence` (no retry); anything else is retried by BullMQ with backoff.
 */
export class DeploymentJobs {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly pollMs: number;

  constructor(private readonly options: DeploymentJobsOptions) {
    this.pollMs = options.pollMs ?? 250;
  }

  handlers(): ComputeJobHandlers {
    return {
      deploy: (job, context) => this.serially(job.service, () => this.deploy(job, context)),
      scale: (job, context) => this.serially(job.service, () => this.scale(job, context)),
      delete: (job, context) => this.serially(job.service, () => this.delete(job, context)),
    };
  }

  private async deploy(job: DeployJob, context: JobContext): Promise<JobResult> {
    const { cache, driver, log } = this.options;
    const deployment = await this.current(job.service);
    const stale = staleness(deployment, job.generation);
    if (stale || !deployment) return { skipped: stale ?? 'the service was deleted' };
    const key = { workspace: job.workspace, service: job.service };
    await context.progress({
      step: 'STARTED',
      message: `Agent on ${this.options.nodeName} took generation ${job.generation} (attempt ${context.attempt})`,
    });
    const spec = deployment.spec;
    if (!spec?.snapshotDigest) {
      throw new UnrecoverableError(
        'EntryScriptMissing: the deployment has no source snapshot; deploy again with skiff (it uploads the entry script)',
      );
    }
    const [sourceDir, modelDirs] = await Promise.all([
      cache.snapshot(spec.snapshotDigest),
      Promise.all(deployment.models.map((model) => cache.model(model))),
    ]);
    const entryScript = spec.inferenceConfig?.entryScript ?? '';
    await requireEntryScript(sourceDir, entryScript);
    const { image } = await this.options.environment.prepare(deployment, (progress) =>
      context.progress(progress),
    );
    const desired = deployment.desiredReplicas;
    const workload = workloadSpecOf(
      deployment,
      job.workspace,
      job.service,
      desired,
      { sourceDir, modelDirs },
      image,
    );
    await driver.apply(workload);
    await context.progress({
      step: 'WORKLOAD_APPLIED',
      message: `Generation ${job.generation}: ${desired} replica(s) starting`,
    });
    log.info({ jobId: context.jobId, service: job.service, generation: job.generation }, 'applied');
    const ready = await this.waitReady(
      key,
      job.generation,
      desired,
      readinessDeadlineMs(workload.liveness),
      context,
    );
    return { readyReplicas: ready, desiredReplicas: desired };
  }

  private async scale(job: ScaleJob, context: JobContext): Promise<JobResult> {
    const deployment = await this.current(job.service);
    const stale = staleness(deployment, job.generation);
    if (stale) return { skipped: stale };
    // An older decision never overrides a newer one (jobs of one service may arrive late).
    if (deployment && deployment.scaleSequence > job.sequence) {
      return {
        skipped: `scale decision ${job.sequence} was replaced by decision ${deployment.scaleSequence}`,
      };
    }
    const key = { workspace: job.workspace, service: job.service };
    await this.options.driver.scale(key, job.replicas);
    await context.progress({
      step: 'REPLICAS',
      message: `Scaling to ${job.replicas} replica(s): ${job.reason}`,
    });
    return { desiredReplicas: job.replicas };
  }

  private async delete(job: DeleteJob, context: JobContext): Promise<JobResult> {
    await this.options.driver.delete({ workspace: job.workspace, service: job.service });
    await context.progress({ step: 'DELETED', message: 'Every replica stopped and removed' });
    return {};
  }

  /** Waits until `desired` replicas of `generation` are ready and no older one is left. */
  private async waitReady(
    key: ServiceKey,
    generation: number,
    desired: number,
    deadlineMs: number,
    context: JobContext,
  ): Promise<number> {
    const until = Date.now() + deadlineMs;
    let reported = -1;
    for (;;) {
      const replicas = await this.options.driver.listReplicas(key);
      const current = replicas.filter((replica) => replica.generation === generation);
      const ready = current.filter((replica) => replica.phase === 'ready').length;
      const failed = current.find((replica) => replica.phase === 'failed');
      if (failed) {
        await this.options.flushLogs();
        throw new UnrecoverableError(
          `EntryScriptInitFailed: replica ${failed.id} ${describe(failed)}`,
        );
      }
      if (ready !== reported) {
        reported = ready;
        await this.options.reportReplicas?.();
        await context.progress({
          step: 'REPLICAS',
          message: `Replicas ready ${ready}/${desired}`,
          readyReplicas: ready,
          desiredReplicas: desired,
        });
      }
      const draining = replicas.some((replica) => replica.generation !== generation);
      if (ready >= desired && !draining) return ready;
      if (Date.now() > until) {
        await this.options.flushLogs();
        throw new UnrecoverableError(
          `ReplicasNotReady: ${ready}/${desired} replicas of generation ${generation} ready after ${Math.round(deadlineMs / 1000)} s (the liveness probe's initial delay, failures × period and a margin); see the replica logs`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /** The service as the control plane wants it now; undefined once it is gone. */
  private async current(service: string): Promise<GetDeploymentResponse | undefined> {
    try {
      return await this.options.client.agents.getDeployment({
        workspace: this.options.workspace,
        service,
      });
    } catch (error) {
      if (error instanceof SkiffApiError && error.code === 'NOT_FOUND') return undefined;
      if (error instanceof SkiffApiError && error.code === 'FAILED_PRECONDITION') {
        throw new UnrecoverableError(`DeploymentInvalid: ${error.details}`);
      }
      throw error;
    }
  }

  private serially<T>(service: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(service) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(service, tail);
    void tail.then(() => {
      if (this.tails.get(service) === tail) this.tails.delete(service);
    });
    return next;
  }
}

/** Why a job for `generation` has nothing to do, or undefined when it has. */
function staleness(
  deployment: GetDeploymentResponse | undefined,
  generation: number,
): string | undefined {
  if (!deployment) return 'the service was deleted';
  if (deployment.state === WebserviceState.WEBSERVICE_STATE_DELETING)
    return 'the service is being deleted';
  if (deployment.generation > generation) {
    return `generation ${generation} is older than generation ${deployment.generation}, which applies instead`;
  }
  return undefined;
}

async function requireEntryScript(sourceDir: string, entryScript: string): Promise<void> {
  const path = resolve(sourceDir, entryScript);
  const found =
    path.startsWith(sourceDir + sep) &&
    (await stat(path).then(
      (info) => info.isFile(),
      () => false,
    ));
  if (!found) {
    throw new UnrecoverableError(
      `EntryScriptMissing: '${entryScript}' is not in the deployed source snapshot; check entryScript and sourceDirectory in inferenceconfig.json`,
    );
  }
}

function describe(replica: Replica): string {
  return replica.message ? `failed: ${replica.message}` : 'failed to start';
}
