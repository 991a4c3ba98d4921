import {
  ComputeQueue,
  computeQueueName,
  type ComputeJob,
  type EnqueueResult,
  type JobStatus,
} from '@skiff/queue';
import type { QueueEventCursors } from '@skiff/store';
import type { QueueEvents } from 'bullmq';
import type { Logger } from 'pino';
import { HandledPrefix } from './handled-prefix.js';

/** What happened to a job, from BullMQ's queue events. */
export type JobEvent =
  | { kind: 'progress'; jobId: string; data: unknown; eventId: string }
  | { kind: 'completed'; jobId: string; result: unknown; eventId: string }
  | { kind: 'failed'; jobId: string; reason: string; eventId: string };

/**
 * Receives job events of every watched compute target, in the order they happened per queue.
 * The returned promise settles once the event is handled for good (applied, or given up on).
 */
export type JobEventListener = (
  workspace: string,
  compute: string,
  event: JobEvent,
) => Promise<void>;

/** A compute target, by workspace and name. */
export interface ComputeRef {
  workspace: string;
  compute: string;
}

/** Options of {@link ComputeQueues}. */
export interface ComputeQueuesOptions {
  redisUrl: string;
  /** BullMQ key prefix. */
  prefix: string;
  /** Where each queue's events were handled up to, shared by every control plane. */
  cursors: QueueEventCursors;
  log: Logger;
}

interface Watched {
  queue: ComputeQueue;
  events: QueueEvents;
}

/**
 * One BullMQ queue per compute target (producer side), and a QueueEvents listener on each so
 * job progress, completion and failure reach the deployment tracker. Each queue's events
 * resume after the shared cursor, which moves past an event only once it and every event
 * before it were handled: a control plane that was down, or that starts watching a compute
 * target attached through another one, replays what it missed.
 */
export class ComputeQueues {
  private readonly watched = new Map<string, Promise<Watched>>();

  constructor(
    private readonly options: ComputeQueuesOptions,
    private readonly listener: JobEventListener,
  ) {}

  /** Enqueues a job on its compute target's queue (idempotent per job id). */
  async enqueue(compute: string, job: ComputeJob): Promise<EnqueueResult> {
    const { queue } = await this.open(job.workspace, compute);
    return queue.enqueue(job);
  }

  /** A job's state on a compute target's queue (undefined: no such job). */
  async status(target: ComputeRef, jobId: string): Promise<JobStatus | undefined> {
    const { queue } = await this.open(target.workspace, target.compute);
    return queue.status(jobId);
  }

  /** Retries a job that failed for good; false when it is absent or not failed. */
  async retryFailed(target: ComputeRef, jobId: string): Promise<boolean> {
    const { queue } = await this.open(target.workspace, target.compute);
    return queue.retryFailed(jobId);
  }

  /** Starts listening to a compute target's job events (no-op when listening already). */
  async watch(workspace: string, compute: string): Promise<void> {
    await this.open(workspace, compute);
  }

  /** Stops listening to a compute target (it was detached). */
  async unwatch(workspace: string, compute: string): Promise<void> {
    const key = keyOf(workspace, compute);
    const entry = this.watched.get(key);
    this.watched.delete(key);
    if (entry) await close(await entry);
  }

  /** Watches exactly `targets`: starts the new ones, stops those no longer attached. */
  async sync(targets: readonly ComputeRef[]): Promise<void> {
    const wanted = new Set(targets.map((t) => keyOf(t.workspace, t.compute)));
    for (const key of [...this.watched.keys()]) {
      if (!wanted.has(key)) {
        const [workspace = '', compute = ''] = key.split('/');
        await this.unwatch(workspace, compute);
      }
    }
    for (const target of targets) await this.watch(target.workspace, target.compute);
  }

  async close(): Promise<void> {
    const all = [...this.watched.values()];
    this.watched.clear();
    await Promise.all(all.map(async (entry) => close(await entry).catch(() => undefined)));
  }

  private open(workspace: string, compute: string): Promise<Watched> {
    const key = keyOf(workspace, compute);
    let entry = this.watched.get(key);
    if (!entry) {
      entry = this.connect(workspace, compute);
      this.watched.set(key, entry);
      entry.catch(() => this.watched.delete(key));
    }
    return entry;
  }

  private async connect(workspace: string, compute: string): Promise<Watched> {
    const { cursors } = this.options;
    const log = this.options.log.child({ workspace, compute });
    const name = computeQueueName(workspace, compute);
    const queue = await ComputeQueue.connect({
      redisUrl: this.options.redisUrl,
      prefix: this.options.prefix,
      workspace,
      compute,
    });
    // The first control plane to watch a queue sets its cursor: from then on, every event is
    // handled by someone, even one sent while all control planes were down.
    let after = await cursors.get(name);
    if (after === undefined) {
      after = await queue.lastEventId();
      await cursors.advance(name, after);
    }
    const events = queue.events({
      after,
      onError: (error) => log.warn({ err: error }, 'queue events connection error'),
    });
    const handled = new HandledPrefix((id) => {
      // Out-of-order writes are harmless: the cursor only moves forward. One left behind
      // only means replaying (idempotent) events after a restart.
      cursors
        .advance(name, id)
        .catch((error: unknown) =>
          log.warn({ err: error }, 'could not save the queue event cursor'),
        );
    });
    const deliver = (event: JobEvent) => {
      handled.received(event.eventId);
      this.listener(workspace, compute, event)
        .catch((error: unknown) =>
          log.error(
            { err: error, jobId: event.jobId, event: event.kind },
            'could not record a job event; the reconciler applies the job state later',
          ),
        )
        .finally(() => handled.done(event.eventId));
    };
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

const keyOf = (workspace: string, compute: string) => `${workspace}/${compute}`;

async function close(entry: Watched): Promise<void> {
  await entry.queue.close(); // closes its events too, bounded in time
}
