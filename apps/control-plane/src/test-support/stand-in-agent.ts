import { startComputeWorker, type JobProgress } from '@skiff/queue';
import type { Worker } from 'bullmq';

/** Options of {@link startStandInAgent}. */
export interface StandInAgentOptions {
  redisUrl: string;
  /** The control plane's Redis key prefix (its BullMQ keys sit under `<prefix>bull`). */
  prefix: string;
  workspace: string;
  compute?: string;
  /** Replicas every deploy reports ready in the end (default 2). */
  replicas?: number;
  /** Awaited in the middle of each deploy (after WORKLOAD_APPLIED), e.g. to kill something. */
  midDeploy?: (service: string, generation: number) => Promise<void>;
}

/** A stand-in agent and what it did. */
export interface StandInAgent {
  /** `deploy <service> <generation>` / `delete <service> <generation>`, in the order taken. */
  readonly seen: string[];
  close(): Promise<void>;
}

/**
 * Consumes a compute target's queue the way the real agent does (progress on the job at each
 * step, replicas turning ready one by one, completion with the replica counts), without
 * running anything. Progress reports fewer ready replicas than the completion, so a late
 * progress event applied after the completion shows in the service's state.
 */
export function startStandInAgent(options: StandInAgentOptions): StandInAgent {
  const seen: string[] = [];
  const replicas = options.replicas ?? 2;
  const worker: Worker = startComputeWorker(
    {
      redisUrl: options.redisUrl,
      prefix: `${options.prefix.replace(/:$/, '')}:bull`,
      workspace: options.workspace,
      compute: options.compute ?? 'local',
    },
    {
      deploy: async (job, context) => {
        seen.push(`deploy ${job.service} ${job.generation}`);
        const step = (progress: JobProgress) => context.progress(progress);
        await step({ step: 'STARTED', message: 'Agent took the job' });
        await step({ step: 'WORKLOAD_APPLIED', message: 'Replicas started' });
        await options.midDeploy?.(job.service, job.generation);
        for (let ready = 0; ready < replicas; ready++) {
          await step({
            step: 'REPLICAS',
            message: `Replicas ready ${ready}/${replicas}`,
            readyReplicas: ready,
            desiredReplicas: replicas,
          });
        }
        return { readyReplicas: replicas, desiredReplicas: replicas };
      },
      delete: (job) => Promise.resolve(void seen.push(`delete ${job.service} ${job.generation}`)),
      scale: () => Promise.resolve(),
    },
  );
  return { seen, close: () => worker.close() };
}
