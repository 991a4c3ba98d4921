import { z } from 'zod';

/** Every job names its service by workspace and service name. */
const serviceTarget = {
  workspace: z.string().min(1),
  service: z.string().min(1),
  /** Generation of the service spec this job applies; agents ignore jobs older than applied. */
  generation: z.number().int().positive(),
};

/** Apply (create or roll over) a service's workload at a generation. */
export const DeployJob = z.object({ kind: z.literal('deploy'), ...serviceTarget });
/** Remove every resource of a service. */
export const DeleteJob = z.object({ kind: z.literal('delete'), ...serviceTarget });
/** Set a service's replica count (the autoscaler's decision). */
export const ScaleJob = z.object({
  kind: z.literal('scale'),
  ...serviceTarget,
  replicas: z.number().int().nonnegative(),
  reason: z.string(),
  /**
   * Per-service sequence of the decision: every decision takes the next one, so a repeated
   * count (1→3→1→3) is a new job, and an agent that sees a newer decision skips this one.
   */
  sequence: z.number().int().positive(),
});

/** Payload of a job on a compute target's queue. */
export const ComputeJob = z.discriminatedUnion('kind', [DeployJob, DeleteJob, ScaleJob]);
export type DeployJob = z.infer<typeof DeployJob>;
export type DeleteJob = z.infer<typeof DeleteJob>;
export type ScaleJob = z.infer<typeof ScaleJob>;
export type ComputeJob = z.infer<typeof ComputeJob>;
export type ComputeJobKind = ComputeJob['kind'];

/**
 * Deterministic job id: enqueueing the same (kind, service, generation) twice yields one job.
 * Scale jobs also carry the decision's sequence (`scale.<ws>.<svc>.<gen>.s<sequence>`), so each
 * decision is its own job even when it repeats an earlier count. BullMQ forbids ':' in ids,
 * hence the dots.
 */
export function computeJobId(job: ComputeJob): string {
  const base = `${job.kind}.${job.workspace}.${job.service}.${job.generation}`;
  return job.kind === 'scale' ? `${base}.s${job.sequence}` : base;
}

/**
 * Queue name of a compute target. Workspace and compute names are DNS labels, so '.' cannot
 * occur inside them and the name is unambiguous.
 */
export function computeQueueName(workspace: string, compute: string): string {
  return `compute.${workspace}.${compute}`;
}

/** Progress an agent reports on a job (BullMQ job progress), persisted as deployment events. */
export const JobProgress = z.object({
  step: z.string(),
  message: z.string(),
  readyReplicas: z.number().int().nonnegative().optional(),
  desiredReplicas: z.number().int().nonnegative().optional(),
});
export type JobProgress = z.infer<typeof JobProgress>;
