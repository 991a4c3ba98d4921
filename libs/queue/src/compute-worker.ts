import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { ComputeJob, computeQueueName, type JobProgress } from './jobs.js';

/** What a handler gets besides the payload. */
export interface JobContext {
  readonly jobId: string;
  readonly attempt: number;
  /** Reports a step; the control plane turns it into a deployment event. */
  progress(progress: JobProgress): Promise<void>;
}

/** One function per job kind; the agent's WorkloadDriver sits behind these. */
export type ComputeJobHandlers = {
  [K in ComputeJob['kind']]: (
    job: Extract<ComputeJob, { kind: K }>,
    context: JobContext,
  ) => Promise<unknown>;
};

/** Options of {@link startComputeWorker}. */
export interface ComputeWorkerOptions {
  redisUrl: string;
  workspace: string;
  compute: string;
  /** BullMQ key prefix (default 'skiff'). */
  prefix?: string;
  /** Jobs processed at once (default 4). */
  concurrency?: number;
  /** Redis ACL user and password (default: those of `redisUrl`, if any). */
  username?: string;
  password?: string;
  /**
   * How long a job stays locked to this worker without a renewal (default 30000 ms); a worker
   * that dies leaves its job to another after about this long (BullMQ stalled-job recovery).
   */
  lockDurationMs?: number;
  /** Called for worker-level errors (Redis connection problems); default: ignored. */
  onError?: (error: Error) => void;
}

/**
 * Consumes a compute target's queue. A payload that does not validate fails at once and is
 * never retried (`UnrecoverableError`); handler errors are retried with backoff. Close it with
 * `await worker.close()` on SIGTERM so active jobs finish.
 */
export function startComputeWorker(
  options: ComputeWorkerOptions,
  handlers: ComputeJobHandlers,
): Worker<unknown> {
  // BullMQ's workers block on Redis: commands must wait for reconnection, never give up.
  const connection = new Redis(options.redisUrl, {
    maxRetriesPerRequest: null,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
  });
  connection.on('error', (error: Error) => options.onError?.(error));
  const worker = new Worker<unknown>(
    computeQueueName(options.workspace, options.compute),
    async (job: Job<unknown>) => {
      const parsed = ComputeJob.safeParse(job.data);
      if (!parsed.success) {
        throw new UnrecoverableError(
          `invalid ${job.name} job ${job.id ?? '?'}: ${parsed.error.issues
            .map((issue) => `${issue.path.join('.') || '(payload)'}: ${issue.message}`)
            .join('; ')}`,
        );
      }
      const context: JobContext = {
        jobId: job.id ?? '',
        attempt: job.attemptsMade + 1,
        progress: (progress) => job.updateProgress(progress),
      };
      return dispatch(handlers, parsed.data, context);
    },
    {
      connection,
      prefix: options.prefix ?? 'skiff',
      concurrency: options.concurrency ?? 4,
      lockDuration: options.lockDurationMs ?? 30_000,
      // Stalled jobs are looked for at the lock's pace, so recovery takes about one lock.
      stalledInterval: options.lockDurationMs ?? 30_000,
    },
  );
  worker.on('error', (error) => options.onError?.(error));
  worker.on('closed', () => connection.disconnect());
  return worker;
}

function dispatch(
  handlers: ComputeJobHandlers,
  job: ComputeJob,
  context: JobContext,
): Promise<unknown> {
  switch (job.kind) {
    case 'deploy':
      return handlers.deploy(job, context);
    case 'delete':
      return handlers.delete(job, context);
    case 'scale':
      return handlers.scale(job, context);
  }
}
