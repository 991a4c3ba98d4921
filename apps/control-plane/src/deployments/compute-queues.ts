import { ComputeQueue, type ComputeJob, type EnqueueResult } from '@skiff/queue';
import type { QueueEvents } from 'bullmq';
import type { Logger } from 'pino';

/** What happened to a job, from BullMQ's queue events. */
export type JobEvent =
  | { kind: 'progress'; jobId: string; data: unknown; eventId: string }
  | { kind: 'completed'; jobId: string; result: unknown; eventId: string }
  | { kind: 'failed'; jobId: string; reason: string; eventId: string };

/** Receives job events of every watched compute target. */
export type JobEventListener = (
  workspace: string,
  compute: string,
  event: JobEvent,
) => Promise<void>;

interface Watched {
  queue: ComputeQueue;
  events: QueueEvents;
}

/**
 * One BullMQ queue per compute target (producer side), and a QueueEvents listener on each so
 * job progress, completion and failure reach the deployment tracker.
 */
export class ComputeQueues {
  private readonly watched = new Map<string, Promise<Watched>>();

  constructor(
    private readonly options: { redisUrl: string; prefix: string; log: Logger },
    private readonly listener: JobEventListener,
  ) {}

  /** Enqueues a job on its compute target's queue (idempotent per job id). */
  async enqueue(compute: string, job: ComputeJob): Promise<EnqueueResult> {
    const { queue } = await this.open(job.workspace, compute);
    return queue.enqueue(job);
  }

  /** Starts listening to a compute target's job events (no-op when listening already). */
  async watch(workspace: string, compute: string): Promise<void> {
    await this.open(workspace, compute);
  }

  async unwatch(workspace: string, compute: string): Promise<void> {
    const key = `${workspace}/${compute}`;
    const entry = this.watched.get(key);
    this.watched.delete(key);
    if (entry) await close(await entry);
  }

  async close(): Promise<void> {
    const all = [...this.watched.values()];
    this.watched.clear();
    await Promise.all(all.map(async (entry) => close(await entry)));
  }

  private open(workspace: string, compute: string): Promise<Watched> {
    const key = `${workspace}/${compute}`;
    let entry = this.watched.get(key);
    if (!entry) {
      entry = this.connect(workspace, compute);
      this.watched.set(key, entry);
      entry.catch(() => this.watched.delete(key));
    }
    return entry;
  }

  private async connect(workspace: string, compute: string): Promise<Watched> {
    const queue = await ComputeQueue.connect({
      redisUrl: this.options.redisUrl,
      prefix: this.options.prefix,
      workspace,
      compute,
    });
    const events = queue.events();
    const log = this.options.log.child({ workspace, compute });
    const deliver = (event: JobEvent) => {
      this.listener(workspace, compute, event).catch((error: unknown) =>
        log.error(
          { err: error, jobId: event.jobId, event: event.kind },
          'could not record a job event',
        ),
      );
    };
    events.on('error', (error) => log.warn({ err: error }, 'queue events connection error'));
    events.on('progress', ({ jobId, data }, id) =>
      deliver({ kind: 'progress', jobId, data, eventId: id }),
    );
    events.on('completed', ({ jobId, returnvalue }, id) =>
      deliver({ kind: 'completed', jobId, result: returnvalue, eventId: id }),
    );
    events.on('failed', ({ jobId, failedReason }, id) =>
      deliver({ kind: 'failed', jobId, reason: failedReason, eventId: id }),
    );
    await events.waitUntilReady();
    return { queue, events };
  }
}

async function close(entry: Watched): Promise<void> {
  await entry.events.close();
  await entry.queue.close();
}
