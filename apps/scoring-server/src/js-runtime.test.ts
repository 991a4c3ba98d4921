// The real server running JavaScript/TypeScript entry scripts in worker threads.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXAMPLES,
  FIXTURES,
  score,
  startReplica,
  type ReplicaProcess,
} from './test-support/replica-process.js';

describe('JavaScript entry scripts', () => {
  it('serves the iris example with the same predictions as the Python one', async () => {
    const replica = await startReplica(
      {
        SKIFF_ENTRY_SCRIPT: `${EXAMPLES}iris-js/score.mjs`,
        AZUREML_MODEL_DIR: `${EXAMPLES}models/iris-logreg/1`,
      },
      { until: 'ready' },
    );
    try {
      const result = await score(replica, {
        data: [
          [5.1, 3.5, 1.4, 0.2],
          [6.4, 3.2, 4.5, 1.5],
          [6.3, 3.3, 6.0, 2.5],
        ],
      });
      expect(result.status).toBe(200);
      expect((result.json as { predictions: string[] }).predictions).toEqual([
        'setosa',
        'versicolor',
        'virginica',
      ]);
      const swagger = (await (await fetch(`${replica.url}/swagger.json`)).json()) as {
        definitions: { ServiceInput: { required: string[] } };
      };
      expect(swagger.definitions.ServiceInput.required).toEqual(['data']);
    } finally {
      await replica.stop();
    }
  });

  describe('with a script that can misbehave on request', () => {
    let replica: ReplicaProcess;
    beforeAll(async () => {
      replica = await startReplica(
        {
          SKIFF_ENTRY_SCRIPT: `${FIXTURES}js/behaviours.mjs`,
          SKIFF_SCORING_TIMEOUT_MS: '1500',
          SKIFF_MAX_CONCURRENT_REQUESTS: '2',
        },
        { until: 'ready' },
      );
    });
    afterAll(() => replica.stop());

    it('runs async run() and returns its value as JSON', async () => {
      const result = await score(replica, { action: 'echo', n: 1 });
      expect(result.status).toBe(200);
      expect(result.json).toMatchObject({ echo: { action: 'echo', n: 1 } });
    });

    it('returns 500 with the error message when run() throws, and logs the stack', async () => {
      const result = await score(
        replica,
        { action: 'raise', detail: 'no rows' },
        { 'x-ms-client-request-id': 'js-raise' },
      );
      expect(result.status).toBe(500);
      expect(result.json).toEqual({ error: 'TypeError: bad input: no rows' });
      const line = await replica.waitForLog((l) => l['requestId'] === 'js-raise');
      expect(String(line['traceback'])).toContain('behaviours.mjs');
    });

    it('answers 504 when run() is stuck in a synchronous loop, and replaces the thread', async () => {
      const inits = () => replica.logs.filter((l) => l.msg?.startsWith('behaviours: init done'));
      expect(inits()).toHaveLength(2); // one thread per concurrent request
      const stuck = score(replica, { action: 'loop' });
      // The loop blocks its thread only: the server keeps answering meanwhile.
      expect((await fetch(`${replica.url}/live`)).status).toBe(200);
      const answer = await stuck;
      expect(answer.status).toBe(504);
      expect(answer.json).toEqual({ error: 'run() did not finish within 1500 ms' });
      await replica.waitForLog(() => inits().length === 3, 'the replacement thread ran init()');
      expect((await score(replica, { action: 'echo' })).status).toBe(200);
      const metrics = await (await fetch(`${replica.url}/metrics`)).text();
      expect(metrics).toMatch(/skiff_scoring_worker_restarts_total\{reason="timeout"[^}]*\} 1/);
    });

    it('tags console output of the script in the log', async () => {
      await score(replica, { action: 'print', text: 'from-js' });
      const err = await replica.waitForLog((l) => l.msg === 'to stderr: from-js');
      expect(err).toMatchObject({ source: 'entry-script', stream: 'stderr' });
    });
  });

  describe('with one thread for two concurrent requests (SKIFF_WORKERS=1)', () => {
    let replica: ReplicaProcess;
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'skiff-js-test-'));
      replica = await startReplica(
        {
          SKIFF_ENTRY_SCRIPT: `${FIXTURES}js/behaviours.mjs`,
          SKIFF_WORKERS: '1',
          SKIFF_MAX_CONCURRENT_REQUESTS: '2',
        },
        { until: 'ready' },
      );
    });
    afterAll(async () => {
      await replica.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('serves a second request while the first one waits inside run(), on the same thread', async () => {
      const file = join(dir, 'release-io');
      const waiting = score(replica, { action: 'wait', file });
      // The first request must be inside run() before the second arrives.
      await replica.waitForLog((l) => String(l.msg).startsWith('behaviours: waiting'));
      const echo = await score(replica, { action: 'echo' });
      expect(echo.status).toBe(200);
      await writeFile(file, '');
      const waited = await waiting;
      expect(waited.json).toMatchObject({ waited: true });
      const threads = [waited, echo].map((r) => (r.json as { threadId: number }).threadId);
      expect(threads[0]).toBe(threads[1]);
      const inits = replica.logs.filter((l) => l.msg?.startsWith('behaviours: init done'));
      expect(inits).toHaveLength(1);
    });
  });

  it('runs a TypeScript entry script without a build step', async () => {
    const replica = await startReplica(
      { SKIFF_ENTRY_SCRIPT: `${FIXTURES}js/typed.ts` },
      { until: 'ready' },
    );
    try {
      expect((await score(replica, { values: [1, 2.5] })).json).toEqual({ doubled: [2, 5] });
    } finally {
      await replica.stop();
    }
  });

  it('never turns ready when init() throws, and logs why', async () => {
    const replica = await startReplica({ SKIFF_ENTRY_SCRIPT: `${FIXTURES}js/init-fails.mjs` });
    try {
      const failed = await replica.waitForLog((l) => String(l.msg).startsWith('init() failed'));
      expect(failed.msg).toContain('Error: cannot reach the feature store');
      expect((await fetch(`${replica.url}/`)).status).toBe(503);
      expect((await score(replica, {})).status).toBe(503);
    } finally {
      await replica.stop();
    }
  });
});
