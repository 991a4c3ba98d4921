/**
 * BullMQ job queues between the control plane and the agents of each compute target:
 * queue names, job payload types (validated), deterministic job ids, producer and worker.
 */
export {
  ComputeJob,
  DeployJob,
  DeleteJob,
  ScaleJob,
  JobProgress,
  computeJobId,
  computeQueueName,
  type ComputeJobKind,
} from './jobs.js';
export {
  ComputeQueue,
  type ComputeQueueOptions,
  type EnqueueResult,
  type JobStatus,
  type QueueEventsOptions,
} from './compute-queue.js';
export {
  startComputeWorker,
  type ComputeJobHandlers,
  type ComputeWorkerOptions,
  type JobContext,
} from './compute-worker.js';
