// A fixed number of workers, each running at most `capacity` `run()`s at once (one for a Python
// process; a JS thread may interleave several async ones). A request that finds every worker
// full waits in arrival order (only possible when the workers' capacity is below the max
// concurrent requests); a request past its deadline is answered 504 and, if a worker holds it,
// that worker is killed and replaced, because neither a Python call nor a synchronous JS loop
// can be interrupted from outside without ending the process or thread that runs it.
import type { Logger } from 'pino';
import {
  InitError,
  ScoringTimeoutError,
  WorkerExitedError,
  type EntryScriptInfo,
  type ScoreRequest,
  type ScoreResponse,
  type ScoringRuntime,
} from './types.js';

/** One process or thread that has loaded the entry script. */
export interface ScoringWorker {
  /** Settles when `init()` has finished (resolves) or failed (rejects with InitError). */
  readonly ready: Promise<EntryScriptInfo>;
  /**
   * Resolves when the worker is gone, for whatever reason. Requests it still held are rejected
   * with WorkerExitedError before this resolves.
   */
  readonly exited: Promise<void>;
  /** `score()` calls it takes at once; never called more often before earlier calls settled. */
  readonly capacity: number;
  /** Runs one request. */
  score(request: ScoreRequest): Promise<ScoreResponse>;
  /** Ends the worker now, even in the middle of `run()`. */
  kill(): void;
}

/** Starts worker number `index` (0-based; replacements reuse the index). */
export type ScoringWorkerFactory = (index: number) => ScoringWorker;

/** Observers for the pool's events (metrics). */
export interface PoolEvents {
  workerRestarted?(reason: 'timeout' | 'exited'): void;
}

interface Job {
  readonly request: ScoreRequest;
  readonly resolve: (response: ScoreResponse) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  settled: boolean;
  slot?: Slot;
}

interface Slot {
  readonly index: number;
  worker: ScoringWorker;
  state: 'starting' | 'ready' | 'dead';
  /** Requests the worker holds now. */
  readonly jobs: Set<Job>;
}

/** {@link ScoringRuntime} over `size` workers made by `factory`. */
export class WorkerPool implements ScoringRuntime {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private stopping = false;
  private broken = false;

  constructor(
    private readonly size: number,
    private readonly factory: ScoringWorkerFactory,
    private readonly log: Logger,
    private readonly events: PoolEvents = {},
  ) {}

  get healthy(): boolean {
    return !this.broken;
  }

  async start(): Promise<EntryScriptInfo> {
    for (let index = 0; index < this.size; index++) {
      this.slots.push({ index, worker: this.factory(index), state: 'starting', jobs: new Set() });
    }
    for (const slot of this.slots) this.watch(slot);
    const results = await Promise.allSettled(this.slots.map((slot) => slot.worker.ready));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) {
      await this.stop();
      const reason: unknown = failure.reason;
      throw reason instanceof InitError ? reason : new InitError(String(reason));
    }
    for (const slot of this.slots) slot.state = 'ready';
    const first = results[0];
    return first?.status === 'fulfilled'
      ? first.value
      : { rawHttp: false, inputSchema: undefined, outputSchema: undefined };
  }

  score(request: ScoreRequest, timeoutMs: number): Promise<ScoreResponse> {
    if (this.stopping) return Promise.reject(new WorkerExitedError('the runtime is stopping'));
    return new Promise<ScoreResponse>((resolve, reject) => {
      const job: Job = {
        request,
        resolve,
        reject,
        settled: false,
        timer: setTimeout(() => this.expire(job, timeoutMs), timeoutMs),
      };
      this.queue.push(job);
      this.dispatch();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const job of this.queue.splice(0)) {
      this.settle(job, new WorkerExitedError('the runtime stopped'));
    }
    const exits = this.slots.map((slot) => {
      slot.state = 'dead';
      slot.worker.kill();
      return slot.worker.exited;
    });
    await Promise.all(exits);
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.leastLoaded();
      if (!slot) return;
      const job = this.queue.shift();
      if (!job) return;
      slot.jobs.add(job);
      job.slot = slot;
      const worker = slot.worker;
      worker.score(job.request).then(
        (response) => this.finish(slot, worker, job, response),
        (error: unknown) =>
          this.finish(slot, worker, job, error instanceof Error ? error : new Error(String(error))),
      );
    }
  }

  /** The ready worker with room for one more request and the fewest in hand (spreads load). */
  private leastLoaded(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.slots) {
      if (slot.state !== 'ready' || slot.jobs.size >= slot.worker.capacity) continue;
      if (!best || slot.jobs.size < best.jobs.size) best = slot;
    }
    return best;
  }

  private finish(slot: Slot, worker: ScoringWorker, job: Job, outcome: ScoreResponse | Error) {
    this.settle(job, outcome);
    // A late answer from a worker that was already replaced changes nothing.
    if (slot.worker !== worker || slot.state !== 'ready' || !slot.jobs.delete(job)) return;
    if (outcome instanceof WorkerExitedError) {
      // A dying worker fails its requests before its `exited` settles: treating it as having
      // room again here would hand the next queued request to the dead worker.
      this.log.error({ worker: slot.index }, 'entry script worker exited unexpectedly');
      this.replace(slot, 'exited');
      return;
    }
    this.dispatch();
  }

  private settle(job: Job, outcome: ScoreResponse | Error): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if (outcome instanceof Error) job.reject(outcome);
    else job.resolve(outcome);
  }

  private expire(job: Job, timeoutMs: number): void {
    if (job.settled) return;
    const error = new ScoringTimeoutError(`run() did not finish within ${timeoutMs} ms`);
    const slot = job.slot;
    if (!slot) {
      this.queue.splice(this.queue.indexOf(job), 1);
      this.settle(job, error);
      return;
    }
    this.settle(job, error);
    this.log.warn(
      { requestId: job.request.requestId, worker: slot.index },
      'scoring timed out; replacing the worker that runs it',
    );
    this.replace(slot, 'timeout');
  }

  /** Follows a worker's life: an exit we did not ask for fails its requests and replaces it. */
  private watch(slot: Slot): void {
    const worker = slot.worker;
    void worker.exited.then(() => {
      // An exit before init() finished is reported through `ready` instead.
      if (this.stopping || slot.worker !== worker || slot.state !== 'ready') return;
      this.log.error({ worker: slot.index }, 'entry script worker exited unexpectedly');
      this.replace(slot, 'exited');
    });
  }

  /**
   * Kills the slot's worker and starts another. Requests the old worker still held fail: with a
   * capacity above one, the other requests of a thread that timed out go down with it.
   */
  private replace(slot: Slot, reason: 'timeout' | 'exited'): void {
    if (this.stopping) return;
    slot.worker.kill();
    const message =
      reason === 'timeout'
        ? 'another request on the same worker timed out, and the worker was replaced'
        : 'the worker running run() exited';
    for (const job of slot.jobs) this.settle(job, new WorkerExitedError(message));
    slot.jobs.clear();
    slot.state = 'starting';
    slot.worker = this.factory(slot.index);
    this.events.workerRestarted?.(reason);
    this.watch(slot);
    const worker = slot.worker;
    worker.ready.then(
      () => {
        if (slot.worker !== worker || this.stopping) return;
        slot.state = 'ready';
        this.dispatch();
      },
      (error: unknown) => {
        if (slot.worker !== worker || this.stopping) return;
        // init() worked once and fails now: this replica cannot serve reliably any more.
        this.broken = true;
        slot.state = 'dead';
        // A Python runner exits after init() failed; a JS thread would stay alive, idle.
        worker.kill();
        this.log.error(
          { worker: slot.index, err: error },
          'a replacement worker failed init(); the replica is no longer live',
        );
      },
    );
  }
}
