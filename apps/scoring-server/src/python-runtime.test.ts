// The real server running Python entry scripts through runner.py (spawns processes).
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXAMPLES,
  FIXTURES,
  score,
  startReplica,
  type ReplicaProcess,
} from './test-support/replica-process.js';

describe('Python entry scripts', () => {
  describe('the iris example (v1 score.py, one model)', () => {
    let replica: ReplicaProcess;
    beforeAll(async () => {
      replica = await startReplica(
        {
          SKIFF_ENTRY_SCRIPT: `${EXAMPLES}iris-python/score.py`,
          AZUREML_MODEL_DIR: `${EXAMPLES}models/iris-logreg/1`,
          SKIFF_SERVICE_ID: 'iris-python',
        },
        { until: 'ready' },
      );
    });
    afterAll(() => replica.stop());

    it('answers GET / with Healthy once init() ran, and the probes with 200', async () => {
      const health = await fetch(`${replica.url}/`);
      expect([health.status, await health.text()]).toEqual([200, 'Healthy']);
      expect((await fetch(`${replica.url}/ready`)).status).toBe(200);
      expect((await fetch(`${replica.url}/live`)).status).toBe(200);
    });

    it('classifies flowers with the trained model', async () => {
      const result = await score(replica, {
        data: [
          [5.1, 3.5, 1.4, 0.2],
          [6.4, 3.2, 4.5, 1.5],
          [6.3, 3.3, 6.0, 2.5],
        ],
      });
      expect(result.status).toBe(200);
      expect(result.headers.get('content-type')).toBe('application/json');
      const body = result.json as { predictions: string[]; probabilities: number[][] };
      expect(body.predictions).toEqual(['setosa', 'versicolor', 'virginica']);
      for (const p of body.probabilities) expect(p.reduce((a, b) => a + b)).toBeCloseTo(1, 4);
    });

    it('returns 500 with the exception message when run() raises, and logs the traceback', async () => {
      const result = await score(
        replica,
        { data: [[1, 2]] },
        { 'x-ms-client-request-id': 'bad-1' },
      );
      expect(result.status).toBe(500);
      expect(result.json).toEqual({
        error: 'ValueError: expected 4 measurements per flower, got 2',
      });
      const line = await replica.waitForLog((l) => l['requestId'] === 'bad-1');
      expect(line['status']).toBe(500);
      expect(String(line['traceback'])).toMatch(/Traceback[\s\S]*score\.py[\s\S]*ValueError/);
      // The worker survives an exception: the next request is served.
      expect((await score(replica, { data: [[5.1, 3.5, 1.4, 0.2]] })).status).toBe(200);
    });

    it('sends every answer with Content-Length, not chunked', async () => {
      const answers = [
        await rawExchange(`${replica.url}/score`, 'POST', '{"data": [[5.1, 3.5, 1.4, 0.2]]}'),
        await rawExchange(`${replica.url}/score`, 'POST', '{"data": [[1, 2]]}'),
        await rawExchange(`${replica.url}/`, 'GET'),
        await rawExchange(`${replica.url}/nope`, 'GET'),
      ];
      expect(answers.map((a) => a.status)).toEqual([200, 500, 200, 404]);
      for (const answer of answers) {
        expect(answer.headers['transfer-encoding']).toBeUndefined();
        expect(answer.headers['content-length']).toBe(String(answer.body.length));
      }
    });

    it('honours x-ms-client-request-id and returns x-ms-request-id', async () => {
      const given = await score(replica, { data: [] }, { 'x-ms-client-request-id': 'client-42' });
      expect(given.headers.get('x-ms-request-id')).toBe('client-42');
      expect(given.headers.get('x-ms-client-request-id')).toBe('client-42');
      const generated = await score(replica, { data: [] });
      expect(generated.headers.get('x-ms-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const line = await replica.waitForLog((l) => l['requestId'] === 'client-42');
      expect(line['msg']).toBe('score');
    });

    it("serves /swagger.json with the script's input schema", async () => {
      const response = await fetch(`${replica.url}/swagger.json`);
      const swagger = (await response.json()) as {
        swagger: string;
        info: { title: string };
        paths: Record<string, unknown>;
        definitions: { ServiceInput: { required: string[] } };
      };
      expect(swagger.swagger).toBe('2.0');
      expect(swagger.info.title).toBe('iris-python');
      expect(Object.keys(swagger.paths)).toEqual(['/', '/score']);
      expect(swagger.definitions.ServiceInput.required).toEqual(['data']);
    });

    it('counts requests by status in /metrics', async () => {
      const before = await counted(replica, '200');
      await score(replica, { data: [[5.1, 3.5, 1.4, 0.2]] });
      await score(replica, { data: [[5.1, 3.5, 1.4, 0.2]] });
      expect(await counted(replica, '200')).toBe(before + 2);
      const text = await (await fetch(`${replica.url}/metrics`)).text();
      expect(text).toMatch(/skiff_scoring_in_flight_requests\{[^}]*\} 0/);
      expect(text).toMatch(/skiff_scoring_request_duration_seconds_count\{[^}]*status="200"\} \d+/);
      expect(text).toMatch(/skiff_scoring_init_duration_seconds\{[^}]*\} \d/);
    });

    it("captures the script's print() output as tagged log lines", async () => {
      const line = await replica.waitForLog((l) =>
        /^loaded .*iris-logreg\.json/.test(String(l.msg)),
      );
      expect(line).toMatchObject({ source: 'entry-script', stream: 'stdout', worker: 0 });
    });

    it('answers 404 for unknown routes and 405 for GET /score', async () => {
      expect((await fetch(`${replica.url}/nope`)).status).toBe(404);
      expect((await fetch(`${replica.url}/score`)).status).toBe(405);
    });
  });

  it('keeps the protocol intact when run() prints to stdout and stderr', async () => {
    const replica = await startReplica(
      { SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/behaviours.py` },
      { until: 'ready' },
    );
    try {
      const result = await score(replica, {
        action: 'print',
        text: 'hello\u0000{"type":"result"}',
      });
      expect(result.json).toEqual({ printed: true });
      const out = await replica.waitForLog((l) => String(l.msg).startsWith('to stdout: hello'));
      const err = await replica.waitForLog((l) => String(l.msg).startsWith('to stderr: hello'));
      expect([out['stream'], err['stream']]).toEqual(['stdout', 'stderr']);
    } finally {
      await replica.stop();
    }
  });

  it("answers with the result frame of the request's own id, ignoring any other", async () => {
    const replica = await startReplica(
      { SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/behaviours.py` },
      { until: 'ready' },
    );
    try {
      const result = await score(replica, { action: 'stray' });
      expect([result.status, result.json]).toEqual([200, { real: true }]);
      await replica.waitForLog((l) => String(l.msg).includes('result frame for request id 0'));
      expect((await score(replica, { action: 'echo' })).status).toBe(200);
    } finally {
      await replica.stop();
    }
  });

  it('never turns ready when init() raises, and logs why', async () => {
    const replica = await startReplica({ SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/init_fails.py` });
    try {
      const failed = await replica.waitForLog((l) => String(l.msg).startsWith('init() failed'));
      expect(failed.msg).toContain('FileNotFoundError: model file missing: /nowhere/model.pkl');
      expect(String(failed['traceback'])).toContain('init_fails.py');
      const health = await fetch(`${replica.url}/`);
      expect(health.status).toBe(503);
      expect(await health.text()).toContain('model file missing');
      expect((await fetch(`${replica.url}/ready`)).status).toBe(503);
      expect((await fetch(`${replica.url}/live`)).status).toBe(503);
      expect((await score(replica, {})).status).toBe(503);
    } finally {
      await replica.stop();
    }
  });

  it('hands a @rawhttp run() the whole request and sends its AMLResponse', async () => {
    const replica = await startReplica(
      { SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/raw.py` },
      { until: 'ready' },
    );
    try {
      const posted = await score(replica, { a: 1 }, { 'X-Test-Tag': 'tagged' });
      expect(posted.status).toBe(201);
      expect(posted.headers.get('x-scored-by')).toBe('raw.py');
      expect(posted.json).toEqual({
        method: 'POST',
        path: '/score',
        tag: 'tagged',
        body: { a: 1 },
        bytes: 7,
      });
      const got = await fetch(`${replica.url}/score?name=skiff`);
      expect([got.status, await got.text()]).toEqual([200, 'hello skiff']);
    } finally {
      await replica.stop();
    }
  });

  it('finds two models with Model.get_model_path (examples/multi-model)', async () => {
    const replica = await startReplica(
      {
        SKIFF_ENTRY_SCRIPT: `${EXAMPLES}multi-model/score.py`,
        AZUREML_MODEL_DIR: `${EXAMPLES}models`,
      },
      { until: 'ready' },
    );
    try {
      const result = await score(replica, {
        data: [
          [5.1, 3.5, 1.4, 0.2],
          [6.3, 3.3, 6.0, 2.5],
        ],
      });
      expect(result.json).toEqual({
        logreg: ['setosa', 'virginica'],
        tree: ['setosa', 'virginica'],
        agree: [true, true],
      });
    } finally {
      await replica.stop();
    }
  });
});

/** One request over node:http, keeping the raw response headers (fetch hides framing). */
function rawExchange(
  url: string,
  method: string,
  body?: string,
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function counted(replica: ReplicaProcess, status: string): Promise<number> {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  const match = new RegExp(`skiff_scoring_requests_total\\{status="${status}"[^}]*\\} (\\d+)`).exec(
    text,
  );
  return Number(match?.[1] ?? 0);
}
