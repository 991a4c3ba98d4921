import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { ComputeJob, computeJobId, computeQueueName } from './jobs.js';

/** Options of {@link ComputeQueue.connect}. */
export interface ComputeQueueOptions {
  /** Redis URL, e.g. redis://127.0.0.1:6379. */
  redisUrl: string;
  workspace: string;
  compute: string;
  /** BullMQ key prefix (default 'skiff'); tests use their own for isolation. */
  prefix?: string;
  /** Completed jobs kept for inspection (default 1000). */
  keepCompleted?: number;
  /** Failed jobs kept for inspection (default 5000). */
  keepFailed?: number;
}

/** What enqueue did: `created: false` when a job with the same id existed already. */
export interface EnqueueResult {
  jobId: string;
  created: boolean;
}

/** Where a job stands, as far as the control plane cares. */
export type JobStatus =
  | { state: 'pending' }
  | { state: 'completed'; result: unknown }
  | { state: 'failed'; reason: string };

/** Options of {@link ComputeQueue.events}. */
export interface QueueEventsOptions {
  /** Stream id to resume after; default: only events from now on. */
  after?: string;
  /** Called for connection errors (they are retried); default: ignored. */
  onError?: (error: Error) => void;
}

/**
 * The producer side of one compute target's job queue (the control plane). Jobs carry
 * deterministic ids, so enqueueing is idempotent; agents consume with {@link startComputeWorker}.
 */
export class ComputeQueue {
  private readonly eventConnections = new Map<QueueEvents, Redis>();

  protected constructor(
    readonly name: string,
    private readonly queue: Queue<ComputeJob>,
    private readonly connection: Redis,
  ) {}

  /**
   * Opens the queue. The connection has no offline queue: when Redis is away, enqueue fails
   * at once (the API answers UNAVAILABLE) instead of piling up commands in memory.
   */
  static async connect(options: ComputeQueueOptions): Promise<ComputeQueue> {
    const name = computeQueueName(options.workspace, options.compute);
    const connection = new Redis(options.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    connection.on('error', () => undefined); // surfaced through the failing command instead
    const queue = new Queue<ComputeJob>(name, {
      connection,
      prefix: options.prefix ?? 'skiff',
      defaultJobOptions: {
        attempts: 5,
        backoff: { type: 'exponential', delay: 1_000 },
        removeOnComplete: options.keepCompleted ?? 1_000,
        removeOnFail: options.keepFailed ?? 5_000,
      },
    });
    queue.on('error', () => undefined);
    await queue.waitUntilReady();
    return new ComputeQueue(name, queue, connection);
  }

  /** Validates and enqueues a job under its deterministic id. */
  async enqueue(job: ComputeJob): Promise<EnqueueResult> {
    const payload = ComputeJob.parse(job);
    const jobId = computeJobId(payload);
    const existing = await this.queue.getJob(jobId);
    if (existing) return { jobId, created: false };
    await this.queue.add(payload.kind, payload, { jobId });
    return { jobId, created: true };
  }

  /**
   * Retries a job that failed for good (attempts exhausted), keeping its id; returns false
   * when the job is absent or not failed.
   */
  async retryFailed(jobId: string): Promise<boolean> {
    const job = await this.queue.getJob(jobId);
    if (!job || !(await job.isFailed())) return false;
    await job.retry('failed');
    return true;
  }

  /** The state of a job, or undefined when no job has this id (never enqueued, or removed). */
  async status(jobId: string): Promise<JobStatus | undefined> {
    const job = await this.queue.getJob(jobId);
    if (!job) return undefined;
    const state = await job.getState();
    if (state === 'completed') return { state, result: job.returnvalue as unknown };
    if (state === 'failed') return { state, reason: job.failedReason };
    return { state: 'pending' };
  }

  /** The id of the newest event in this queue's event stream ('0-0' when there is none). */
  async lastEventId(): Promise<string> {
    const newest = await this.connection.xrevrange(
      `${this.queue.qualifiedName}:events`,
      '+',
      '-',
      'COUNT',
      1,
    );
    return newest[0]?.[0] ?? '0-0';
  }

  /** Jobs not yet finished: waiting, delayed or active. */
  async pendingCount(): Promise<number> {
    return this.queue.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized');
  }

  /**
   * Events of this queue (progress, completed, failed), from now on or after a stream id.
   * BullMQ keeps the last 10,000 events of a queue; resuming from an older id misses some.
   */
  events(options: QueueEventsOptions = {}): QueueEvents {
    // The blocking XREAD needs its own connection, which waits through Redis outages.
    const connection = this.connection.duplicate({
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
    });
    const onError = options.onError ?? (() => undefined);
    connection.on('error', onError);

    const events = new QueueEvents(this.name, {
      connection,
      prefix: this.queue.opts.prefix ?? 'skiff',
      ...(options.after === undefined ? {} : { lastEventId: options.after }),
    });
    events.on('error', onError);
    this.eventConnections.set(events, connection);
    return events;
  }

  /**
   * Closes QueueEvents made by {@link events}. BullMQ's own close() can wait forever once
   * its connection has lost Redis (seen with BullMQ 6.7): this one waits at most `timeoutMs`
   * (default 2000), then drops the connection.
   */
  async closeEvents(events: QueueEvents, timeoutMs = 2_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      events.close().then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!closed) {
      const connection = this.eventConnections.get(events);
      connection?.removeAllListeners('error');
      connection?.on('error', () => undefined);
      connection?.disconnect();
    }
    this.eventConnections.delete(events);
  }

  /** Closes the queue and every QueueEvents it made. */
  async close(): Promise<void> {
    await Promise.all([...this.eventConnections.keys()].map((events) => this.closeEvents(events)));
    await this.queue.close();
    this.connection.disconnect();
  }
}
