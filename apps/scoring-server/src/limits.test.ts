// Limits of one replica, through the real server and a Python worker: concurrency, body size,
// scoring timeout, graceful stop, data collection.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FIXTURES,
  score,
  startReplica,
  stopAllReplicas,
  type ReplicaProcess,
} from './test-support/replica-process.js';

const BEHAVIOURS = `${FIXTURES}python/behaviours.py`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-limits-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Polls /metrics until `n` requests are inside run(). */
async function inFlight(replica: ReplicaProcess, n: number): Promise<void> {
  for (;;) {
    const text = await (await fetch(`${replica.url}/metrics`)).text();
    if (new RegExp(`skiff_scoring_in_flight_requests\\{[^}]*\\} ${n}\\n`).test(text)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** True while `pid` runs (a zombie waiting for its parent to reap it counts as gone). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls until `pid` has ended; a process that never ends fails the test by its timeout. */
async function gone(pid: number): Promise<void> {
  while (running(pid)) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('replica limits', () => {
  afterEach(() => stopAllReplicas());

  it('answers 503 at once when maxConcurrentRequests requests are already running', async () => {
    const replica = await startReplica(
      { SKIFF_ENTRY_SCRIPT: BEHAVIOURS, SKIFF_MAX_CONCURRENT_REQUESTS: '2' },
      { until: 'ready' },
    );
    const release = join(dir, 'release-concurrency');
    const first = score(replica, { action: 'wait', file: release });
    const second = score(replica, { action: 'wait', file: release });
    await inFlight(replica, 2);
    const third = await score(replica, { action: 'echo' });
    expect(third.status).toBe(503);
    expect(third.json).toEqual({
      error: 'the replica is busy: 2 concurrent request(s) is its limit',
    });
    await writeFile(release, '');
    const answers = await Promise.all([first, second]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    // Two worker processes ran the two requests side by side.
    const pids = new Set(answers.map((a) => (a.json as { pid: number }).pid));
    expect(pids.size).toBe(2);
    expect((await score(replica, { action: 'echo' })).status).toBe(200);
  });

  it('answers 504 past the scoring timeout and replaces the Python worker', async () => {
    const replica = await startReplica(
      { SKIFF_ENTRY_SCRIPT: BEHAVIOURS, SKIFF_SCORING_TIMEOUT_MS: '800' },
      { until: 'ready' },
    );
    const before = (await score(replica, { action: 'echo' })).json as { pid: number };
    const slow = await score(replica, { action: 'sleep', seconds: 30 });
    expect(slow.status).toBe(504);
    // The replacement runs init() first; requests meanwhile wait for it (or time out).
    let after = await score(replica, { action: 'echo' });
    while (after.status === 504) after = await score(replica, { action: 'echo' });
    expect(after.status).toBe(200);
    expect((after.json as { pid: number }).pid).not.toBe(before.pid);
    expect((after.json as { calls: number }).calls).toBe(1);
  });

  it('answers 500 and replaces the worker when the Python process dies in run()', async () => {
    const replica = await startReplica({ SKIFF_ENTRY_SCRIPT: BEHAVIOURS }, { until: 'ready' });
    const died = await score(replica, { action: 'exit' });
    expect(died.status).toBe(500);
    expect(died.json).toEqual({ error: 'the python worker exited (code 3)' });
    await replica.waitForLog(
      () => replica.logs.filter((l) => l.msg?.startsWith('behaviours: init done')).length === 2,
    );
    expect((await score(replica, { action: 'echo' })).status).toBe(200);
  });

  it('serves a request queued behind a worker that dies in run() on the replacement', async () => {
    const replica = await startReplica(
      { SKIFF_ENTRY_SCRIPT: BEHAVIOURS, SKIFF_WORKERS: '1', SKIFF_MAX_CONCURRENT_REQUESTS: '2' },
      { until: 'ready' },
    );
    const release = join(dir, 'release-exit');
    const dies = score(replica, { action: 'exit', file: release });
    const queued = score(replica, { action: 'echo' });
    await inFlight(replica, 2);
    await writeFile(release, '');
    expect((await dies).status).toBe(500);
    const served = await queued;
    expect(served.status).toBe(200);
    expect((served.json as { calls: number }).calls).toBe(1); // by the fresh worker
  });

  it('kills the processes an entry script started with its worker, on recycle and on stop', async () => {
    const helpers: number[] = [];
    try {
      const replica = await startReplica(
        { SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/spawns.py`, SKIFF_SCORING_TIMEOUT_MS: '800' },
        { until: 'ready' },
      );
      const spawn = async () => {
        let answer = await score(replica, { action: 'spawn' });
        // After a recycle the replacement runs init() first; requests meanwhile may time out.
        while (answer.status === 504) answer = await score(replica, { action: 'spawn' });
        const { pid } = answer.json as { pid: number };
        helpers.push(pid);
        expect(running(pid)).toBe(true);
        return pid;
      };
      const first = await spawn();
      expect((await score(replica, { action: 'sleep', seconds: 30 })).status).toBe(504);
      await gone(first);
      const second = await spawn();
      replica.child.kill('SIGTERM');
      // The helper holds the server's log pipes: the server exits only once it is gone.
      expect(await replica.exited).toEqual({ code: 0, signal: null });
      await gone(second);
    } finally {
      for (const pid of helpers) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });

  it('finishes the request in flight on SIGTERM, refuses new connections, then exits 0', async () => {
    const replica = await startReplica({ SKIFF_ENTRY_SCRIPT: BEHAVIOURS }, { until: 'ready' });
    const release = join(dir, 'release-shutdown');
    const inflight = score(replica, { action: 'wait', file: release });
    await inFlight(replica, 1);
    replica.child.kill('SIGTERM');
    await replica.waitForLog((l) => String(l.msg).startsWith('stopping'));
    await expect(fetch(`${replica.url}/`)).rejects.toThrow();
    expect(replica.child.exitCode).toBeNull();
    await writeFile(release, '');
    const answer = await inflight;
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ waited: true });
    expect(await replica.exited).toEqual({ code: 0, signal: null });
  });

  it('records inputs and outputs as JSON lines when data collection is on', async () => {
    const collected = join(dir, 'collected');
    const replica = await startReplica(
      {
        SKIFF_ENTRY_SCRIPT: BEHAVIOURS,
        SKIFF_DATA_COLLECTION_DIR: collected,
        SKIFF_SERVICE_ID: 'svc-a',
        SKIFF_REPLICA_ID: 'replica-1',
      },
      { until: 'ready' },
    );
    await score(replica, { action: 'echo', n: 7 }, { 'x-ms-client-request-id': 'dc-1' });
    await score(replica, { action: 'raise', detail: 'dc' }, { 'x-ms-client-request-id': 'dc-2' });
    await replica.stop();
    expect(await readdir(join(collected, 'svc-a'))).toEqual(['replica-1.jsonl']);
    const lines = (await readFile(join(collected, 'svc-a', 'replica-1.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      service: 'svc-a',
      replica: 'replica-1',
      requestId: 'dc-1',
      clientRequestId: 'dc-1',
      status: 200,
      input: '{"action":"echo","n":7}',
    });
    expect(JSON.parse(String(lines[0]!['output']))).toMatchObject({ echo: { n: 7 } });
    expect(lines[1]).toMatchObject({
      requestId: 'dc-2',
      status: 500,
      output: 'ValueError: bad input: dc',
    });
    expect(Date.parse(String(lines[0]!['time']))).not.toBeNaN();
  });

  it('keeps scoring when the data collection directory cannot be written', async () => {
    const blocker = join(dir, 'not-a-dir');
    await writeFile(blocker, 'a file where a directory should be');
    const replica = await startReplica(
      { SKIFF_ENTRY_SCRIPT: BEHAVIOURS, SKIFF_DATA_COLLECTION_DIR: blocker },
      { until: 'ready' },
    );
    expect((await score(replica, { action: 'echo' })).status).toBe(200);
    const metrics = await (await fetch(`${replica.url}/metrics`)).text();
    expect(metrics).toMatch(/skiff_data_collection_dropped_total\{[^}]*\} 1/);
  });
});
