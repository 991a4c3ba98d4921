// A fixed number of workers, each running one `run()` at a time. A request that finds every
// worker busy waits in arrival order (only possible when workers < max concurrent requests);
// a request past its deadline is answered 504 and, if a worker holds it, that worker is killed
// and replaced, because neither a Python call nor a synchronous JS loop can be interrupted from
// outside without ending the process or thread that runs it.
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
  /** Resolves when the worker is gone, for whatever reason. */
  readonly exited: Promise<void>;
  /** Runs one request; never called again before the previous call settled. */
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
  state: 'starting' | 'idle' | 'busy' | 'dead';
  job?: Job;
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
      this.slots.push({ index, worker: this.factory(index), state: 'starting' });
    }
    for (const slot of this.slots) this.watch(slot);
    const results = await Promise.allSettled(this.slots.map((slot) => slot.worker.ready));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) {
      await this.stop();
      const reason: unknown = failure.reason;
      throw reason instanceof InitError ? reason : new InitError(String(reason));
    }
    for (const slot of this.slots) slot.state = 'idle';
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
      const slot = this.slots.find((candidate) => candidate.state === 'idle');
      if (!slot) return;
      const job = this.queue.shift();
      if (!job) return;
      slot.state = 'busy';
      slot.job = job;
      job.slot = slot;
      const worker = slot.worker;
      worker.score(job.request).then(
        (response) => this.finish(slot, worker, job, response),
        (error: unknown) =>
          this.finish(slot, worker, job, error instanceof Error ? error : new Error(String(error))),
      );
    }
  }

  private finish(slot: Slot, worker: ScoringWorker, job: Job, outcome: ScoreResponse | Error) {
    this.settle(job, outcome);
    // A late answer from a worker that was already replaced changes nothing.
    if (slot.worker !== worker || slot.state !== 'busy') return;
    delete slot.job;
    if (outcome instanceof WorkerExitedError) {
      // A dying worker fails its request before its `exited` settles: marking the slot idle
      // here would hand the next queued request to the dead worker.
      this.log.error({ worker: slot.index }, 'entry script worker exited unexpectedly');
      this.replace(slot, 'exited');
      return;
    }
    slot.state = 'idle';
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

  /** Follows a worker's life: an exit we did not ask for fails its request and replaces it. */
  private watch(slot: Slot): void {
    const worker = slot.worker;
    void worker.exited.then(() => {
      // An exit before init() finished is reported through `ready` instead.
      if (
        this.stopping ||
        slot.worker !== worker ||
        (slot.state !== 'idle' && slot.state !== 'busy')
      ) {
        return;
      }
      this.log.error({ worker: slot.index }, 'entry script worker exited unexpectedly');
      if (slot.job) this.settle(slot.job, new WorkerExitedError('the worker running run() exited'));
      this.replace(slot, 'exited');
    });
  }

  private replace(slot: Slot, reason: 'timeout' | 'exited'): void {
    if (this.stopping) return;
    slot.worker.kill();
    delete slot.job;
    slot.state = 'starting';
    slot.worker = this.factory(slot.index);
    this.events.workerRestarted?.(reason);
    this.watch(slot);
    const worker = slot.worker;
    worker.ready.then(
      () => {
        if (slot.worker !== worker || this.stopping) return;
        slot.state = 'idle';
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
