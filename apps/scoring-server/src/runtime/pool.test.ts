import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { WorkerPool, type ScoringWorker } from './pool.js';
import { InitError, ScoringTimeoutError, type ScoreRequest, type ScoreResponse } from './types.js';

/** A worker whose run() settles when the test says so. */
class ControlledWorker implements ScoringWorker {
  readonly ready: Promise<{ rawHttp: boolean; inputSchema: unknown; outputSchema: unknown }>;
  readonly exited: Promise<void>;
  readonly calls: { request: ScoreRequest; answer: (r: ScoreResponse) => void }[] = [];
  killed = false;
  private exit!: () => void;

  constructor(
    readonly id: number,
    initError?: Error,
  ) {
    this.ready = initError
      ? Promise.reject(initError)
      : Promise.resolve({ rawHttp: false, inputSchema: undefined, outputSchema: undefined });
    this.ready.catch(() => undefined);
    this.exited = new Promise((resolve) => (this.exit = resolve));
  }
  score(request: ScoreRequest): Promise<ScoreResponse> {
    return new Promise((resolve) => this.calls.push({ request, answer: resolve }));
  }
  kill(): void {
    this.killed = true;
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
    void pool.score(request('long'), 60_000);
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

  it('fails start() with the InitError of a worker whose init() failed', async () => {
    const pool = new WorkerPool(
      2,
      (i) => new ControlledWorker(i, i === 1 ? new InitError('no model', 'trace') : undefined),
      silent,
    );
    await expect(pool.start()).rejects.toMatchObject({ message: 'no model', traceback: 'trace' });
  });
});
