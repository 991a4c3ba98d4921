import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { WorkerPool, type ScoringWorker } from './pool.js';
import {
  InitError,
  ScoringTimeoutError,
  WorkerExitedError,
  type ScoreRequest,
  type ScoreResponse,
} from './types.js';

/**
 * A worker whose run() settles when the test says so. It dies the way the real ones do: the
 * request it holds is rejected first, and `exited` resolves after (python-worker.ts and
 * js-worker.ts do both in their exit handler, in that order); kill() takes effect a moment
 * later, as a signal or Worker#terminate() does.
 */
class ControlledWorker implements ScoringWorker {
  readonly ready: Promise<{ rawHttp: boolean; inputSchema: unknown; outputSchema: unknown }>;
  readonly exited: Promise<void>;
  readonly calls: { request: ScoreRequest; answer: (r: ScoreResponse) => void }[] = [];
  killed = false;
  dead = false;
  private exit!: () => void;
  private readonly pending = new Set<(error: Error) => void>();

  constructor(
    readonly id: number,
    initError?: Error,
    readonly capacity = 1,
  ) {
    this.ready = initError
      ? Promise.reject(initError)
      : Promise.resolve({ rawHttp: false, inputSchema: undefined, outputSchema: undefined });
    this.ready.catch(() => undefined);
    this.exited = new Promise((resolve) => (this.exit = resolve));
  }
  score(request: ScoreRequest): Promise<ScoreResponse> {
    return new Promise((resolve, reject) => {
      this.calls.push({
        request,
        answer: (response) => {
          this.pending.delete(reject);
          resolve(response);
        },
      });
      // A dead worker takes the request and never answers, as a closed pipe would.
      if (!this.dead) this.pending.add(reject);
    });
  }
  kill(): void {
    this.killed = true;
    setImmediate(() => this.die());
  }
  /** The process or thread ends (crash, os._exit, or the kill arriving). */
  die(): void {
    if (this.dead) return;
    this.dead = true;
    for (const reject of this.pending) reject(new WorkerExitedError('the worker exited'));
    this.pending.clear();
    this.exit();
  }
}

const silent = pino({ level: 'silent' });
const request = (id: string): ScoreRequest => ({
  requestId: id,
  method: 'POST',
  url: '/score',
  headers: {},
  body: Buffer.from(id),
});
const ok = (text: string): ScoreResponse => ({ status: 200, headers: {}, body: Buffer.from(text) });
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WorkerPool', () => {
  it('queues in arrival order when every worker is busy', async () => {
    const workers: ControlledWorker[] = [];
    const pool = new WorkerPool(
      1,
      (i) => (workers[i] = new ControlledWorker(workers.length)),
      silent,
    );
    await pool.start();
    const a = pool.score(request('a'), 60_000);
    const b = pool.score(request('b'), 60_000);
    await tick();
    expect(workers[0]!.calls.map((c) => c.request.requestId)).toEqual(['a']);
    workers[0]!.calls[0]!.answer(ok('A'));
    expect((await a).body.toString()).toBe('A');
    await tick();
    workers[0]!.calls[1]!.answer(ok('B'));
    expect((await b).body.toString()).toBe('B');
    await pool.stop();
  });

  it('times out a queued request without touching the busy worker', async () => {
    const made: ControlledWorker[] = [];
    const pool = new WorkerPool(
      1,
      () => {
        const worker = new ControlledWorker(made.length);
        made.push(worker);
        return worker;
      },
      silent,
    );
    await pool.start();
    pool.score(request('long'), 60_000).catch(() => undefined); // rejected by stop()
    await expect(pool.score(request('queued'), 5)).rejects.toBeInstanceOf(ScoringTimeoutError);
    expect(made).toHaveLength(1);
    expect(made[0]!.killed).toBe(false);
    await pool.stop();
  });

  it('kills and replaces the worker that holds a timed-out request', async () => {
    const made: ControlledWorker[] = [];
    const restarts: string[] = [];
    const pool = new WorkerPool(
      1,
      () => {
        const worker = new ControlledWorker(made.length);
        made.push(worker);
        return worker;
      },
      silent,
      { workerRestarted: (reason) => restarts.push(reason) },
    );
    await pool.start();
    await expect(pool.score(request('stuck'), 5)).rejects.toBeInstanceOf(ScoringTimeoutError);
    expect(made[0]!.killed).toBe(true);
    expect(made).toHaveLength(2);
    expect(restarts).toEqual(['timeout']);
    const next = pool.score(request('next'), 60_000);
    await tick();
    made[1]!.calls[0]!.answer(ok('fresh'));
    expect((await next).body.toString()).toBe('fresh');
    await pool.stop();
  });

  it('gives a request queued behind a worker that died in run() to its replacement', async () => {
    const made: ControlledWorker[] = [];
    const restarts: string[] = [];
    const pool = new WorkerPool(
      1,
      () => {
        const worker = new ControlledWorker(made.length);
        made.push(worker);
        return worker;
      },
      silent,
      { workerRestarted: (reason) => restarts.push(reason) },
    );
    await pool.start();
    const dies = pool.score(request('dies'), 60_000);
    const queued = pool.score(request('queued'), 60_000);
    queued.catch(() => undefined); // asserted below; a wrong pool rejects it early
    await tick();
    made[0]!.die();
    await expect(dies).rejects.toBeInstanceOf(WorkerExitedError);
    await tick();
    expect(made[0]!.calls.map((c) => c.request.requestId)).toEqual(['dies']);
    expect(made).toHaveLength(2);
    expect(restarts).toEqual(['exited']);
    made[1]!.calls[0]!.answer(ok('served by the replacement'));
    expect((await queued).body.toString()).toBe('served by the replacement');
    await pool.stop();
  });

  it('replaces a worker that died while idle, and serves the next request on the new one', async () => {
    const made: ControlledWorker[] = [];
    const pool = new WorkerPool(
      1,
      () => {
        const worker = new ControlledWorker(made.length);
        made.push(worker);
        return worker;
      },
      silent,
    );
    await pool.start();
    made[0]!.die();
    await tick();
    expect(made).toHaveLength(2);
    const next = pool.score(request('next'), 60_000);
    await tick();
    made[1]!.calls[0]!.answer(ok('fresh'));
    expect((await next).body.toString()).toBe('fresh');
    await pool.stop();
  });

  it('ends a replacement worker whose init() failed, and reports the pool unhealthy', async () => {
    const made: ControlledWorker[] = [];
    const pool = new WorkerPool(
      1,
      () => {
        const worker = new ControlledWorker(
          made.length,
          made.length > 0 ? new InitError('model gone') : undefined,
        );
        made.push(worker);
        return worker;
      },
      silent,
    );
    await pool.start();
    await expect(pool.score(request('stuck'), 5)).rejects.toBeInstanceOf(ScoringTimeoutError);
    await tick();
    expect(made).toHaveLength(2);
    expect(pool.healthy).toBe(false);
    expect(made[1]!.killed).toBe(true);
    await pool.stop();
  });

  it('rejects requests in flight and queued with WorkerExitedError on stop()', async () => {
    const made: ControlledWorker[] = [];
    const pool = new WorkerPool(
      1,
      () => {
        const worker = new ControlledWorker(made.length);
        made.push(worker);
        return worker;
      },
      silent,
    );
    await pool.start();
    const running = pool.score(request('running'), 60_000);
    const queued = pool.score(request('queued'), 60_000);
    await tick();
    const outcomes = Promise.allSettled([running, queued]);
    await pool.stop();
    const [a, b] = await outcomes;
    expect(a.status === 'rejected' && a.reason).toBeInstanceOf(WorkerExitedError);
    expect(b.status === 'rejected' && b.reason).toBeInstanceOf(WorkerExitedError);
    expect(made).toHaveLength(1);
  });

  it('gives a worker as many requests at once as its capacity, and queues the rest', async () => {
    const made: ControlledWorker[] = [];
    const pool = new WorkerPool(
      1,
      () => {
        const worker = new ControlledWorker(made.length, undefined, 2);
        made.push(worker);
        return worker;
      },
      silent,
    );
    await pool.start();
    const a = pool.score(request('a'), 60_000);
    const b = pool.score(request('b'), 60_000);
    const c = pool.score(request('c'), 60_000);
    await tick();
    expect(made[0]!.calls.map((call) => call.request.requestId)).toEqual(['a', 'b']);
    made[0]!.calls[1]!.answer(ok('B'));
    expect((await b).body.toString()).toBe('B');
    await tick();
    expect(made[0]!.calls.map((call) => call.request.requestId)).toEqual(['a', 'b', 'c']);
    made[0]!.calls[0]!.answer(ok('A'));
    made[0]!.calls[2]!.answer(ok('C'));
    expect([(await a).body.toString(), (await c).body.toString()]).toEqual(['A', 'C']);
    await pool.stop();
  });

  it('fails the other requests of a shared worker that is replaced after a timeout', async () => {
    const made: ControlledWorker[] = [];
    const pool = new WorkerPool(
      1,
      () => {
        const worker = new ControlledWorker(made.length, undefined, 2);
        made.push(worker);
        return worker;
      },
      silent,
    );
    await pool.start();
    const other = pool.score(request('other'), 60_000);
    other.catch(() => undefined);
    await expect(pool.score(request('stuck'), 5)).rejects.toBeInstanceOf(ScoringTimeoutError);
    await expect(other).rejects.toBeInstanceOf(WorkerExitedError);
    expect(made[0]!.killed).toBe(true);
    expect(made).toHaveLength(2);
    await pool.stop();
  });

  it('fails start() with the InitError of a worker whose init() failed', async () => {
    const pool = new WorkerPool(
      2,
      (i) => new ControlledWorker(i, i === 1 ? new InitError('no model', 'trace') : undefined),
      silent,
    );
    await expect(pool.start()).rejects.toMatchObject({ message: 'no model', traceback: 'trace' });
  });
});
