import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '@skiff/testing';
import type { CollectedRecord } from './data-collection.js';
import {
  replica,
  route,
  startFakeControlPlane,
  table,
  type FakeControlPlane,
} from './test-support/control-plane.js';
import { open, readAnswer } from './test-support/http.js';
import {
  echo,
  startReplica,
  type ReplicaHandler,
  type TestReplica,
} from './test-support/replicas.js';
import { eventually, startTestRouter, type TestRouter } from './test-support/router.js';

let cp: FakeControlPlane;
let router: TestRouter | undefined;
const replicas: TestReplica[] = [];
const gates: (() => void)[] = [];

beforeEach(async () => {
  cp = await startFakeControlPlane();
});
afterEach(async () => {
  for (const open of gates.splice(0)) open();
  await router?.stop();
  router = undefined;
  await Promise.all(replicas.splice(0).map((r) => r.close()));
  await cp.close();
});

async function upstream(name: string, handler: ReplicaHandler = echo) {
  const r = await startReplica(name, handler);
  replicas.push(r);
  return r;
}

/** A replica that holds each request until the test opens the gate. */
async function heldReplica(name: string) {
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  gates.push(openGate);
  const r = await upstream(name, async (req, res, self) => {
    for await (const _ of req) void _;
    await gate;
    res.end(JSON.stringify({ replica: self.name, seq: req.headers['x-seq'] }));
  });
  return { replica: r, release: openGate };
}

async function serve(
  services: Parameters<typeof table>[1],
  overrides: Parameters<typeof startTestRouter>[1] = {},
) {
  router = await startTestRouter(cp.address, overrides);
  cp.publish(table(1, services));
  await eventually('the table', () => router!.router.table.current?.version === 1);
  return router;
}

const scoreUrl = (service = 'iris') => `${router!.url}/api/v1/service/${service}/score`;
const score = (init: RequestInit = {}, service = 'iris') =>
  fetch(scoreUrl(service), { method: 'POST', body: '{"x":1}', ...init });

describe('proxying', () => {
  it('forwards score and swagger.json to the replica, with request ids both ways', async () => {
    const a = await upstream('a');
    await serve([route({ service: 'iris', replicas: [replica(a.address)] })]);
    const answer = await score({ headers: { 'x-ms-client-request-id': 'client-42' } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ms-request-id')).toBe('client-42');
    expect(answer.headers.get('x-ms-client-request-id')).toBe('client-42');
    expect(await answer.json()).toMatchObject({ path: '/score', requestId: 'client-42' });

    const issued = await score();
    const id = issued.headers.get('x-ms-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await issued.json()).toMatchObject({ requestId: id });

    const swagger = await fetch(`${router!.url}/api/v1/service/iris/swagger.json?version=2`);
    expect(swagger.status).toBe(200);
    expect(await swagger.json()).toMatchObject({ path: '/swagger.json?version=2' });
    expect(a.received.at(-1)!.method).toBe('GET');
    expect((await fetch(scoreUrl(), { method: 'PUT', body: '{}' })).status).toBe(405);

    const line = router!.logs.find((l) => l['msg'] === 'request' && l['requestId'] === 'client-42');
    expect(line).toMatchObject({
      service: 'iris',
      workspace: 'team-a',
      status: 200,
      replica: `r-${a.address.split(':')[1]}`,
    });
    expect(line).toHaveProperty('durationMs');
    expect(line).toHaveProperty('queueMs');
    expect(line).toHaveProperty('upstreamMs');
  });

  it('passes the replica’s own statuses and headers through', async () => {
    const a = await upstream('a', (_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json', 'x-custom': 'yes' });
      res.end('{"error":"ValueError: bad"}');
    });
    await serve([route({ service: 'iris', replicas: [replica(a.address)] })]);
    const answer = await score();
    expect(answer.status).toBe(500);
    expect(answer.headers.get('x-custom')).toBe('yes');
    expect(await answer.text()).toBe('{"error":"ValueError: bad"}');
  });
});

describe('body limit', () => {
  it('answers 413 on a Content-Length over the limit, before the replica sees anything', async () => {
    const a = await upstream('a');
    await serve([route({ service: 'iris', maxBodyBytes: 1_000, replicas: [replica(a.address)] })]);
    const { req, response } = open(scoreUrl(), { headers: { 'content-length': 5_000 } });
    req.write('x'.repeat(100));
    const answer = await readAnswer(await response);
    req.destroy();
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 413 } });
    expect(a.received).toHaveLength(0);
    expect((await score({ body: 'y'.repeat(1_000) })).status).toBe(200);
  });

  it('answers 413 when a chunked body streams past the limit', async () => {
    const a = await upstream('a');
    await serve([
      route({ service: 'iris', maxBodyBytes: 64 * 1024, replicas: [replica(a.address)] }),
    ]);
    const { req, response } = open(scoreUrl());
    const chunk = Buffer.alloc(16 * 1024, 'z');
    let answered = false;
    void response.then(() => (answered = true));
    for (let i = 0; i < 40 && !answered; i++) {
      req.write(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const answer = await readAnswer(await response);
    req.destroy();
    expect(answer.status).toBe(413);
    // Whatever the replica got, it never got a complete request to score.
    expect(a.received.length).toBeLessThanOrEqual(1);
    const line = router!.logs.find((l) => l['msg'] === 'request' && l['status'] === 413);
    expect(line!['bytesIn']).toBeGreaterThan(64 * 1024);
  });
});

describe('replica slots and the queue', () => {
  it('holds requests beyond the slot limit and serves them in arrival order', async () => {
    const { replica: a, release } = await heldReplica('a');
    await serve([
      route({
        service: 'iris',
        maxConcurrentPerReplica: 2,
        maxQueueWait: { seconds: 30 },
        replicas: [replica(a.address)],
      }),
    ]);
    const pool = router!.router.pools.get('iris')!;
    const answers: Promise<Response>[] = [];
    for (let seq = 0; seq < 6; seq++) {
      answers.push(score({ headers: { 'x-seq': String(seq) } }));
      await eventually(`request ${seq} placed`, () => pool.inFlight + pool.queued === seq + 1);
    }
    expect(pool.inFlight).toBe(2);
    expect(pool.queued).toBe(4);
    expect(a.active()).toBe(2);
    release();
    const statuses = await Promise.all(answers.map(async (a) => (await a).status));
    expect(statuses).toEqual(Array(6).fill(200));
    expect(a.peak()).toBe(2);
    expect(a.received.map((r) => r.headers['x-seq'])).toEqual(['0', '1', '2', '3', '4', '5']);
  });

  it('spreads requests over replicas by least outstanding, never above the slot limit', async () => {
    const held = await Promise.all(['a', 'b', 'c'].map((name) => heldReplica(name)));
    await serve([
      route({
        service: 'iris',
        maxConcurrentPerReplica: 2,
        maxQueueWait: { seconds: 30 },
        replicas: held.map((h) => replica(h.replica.address)),
      }),
    ]);
    const pool = router!.router.pools.get('iris')!;
    const answers = Array.from({ length: 9 }, () => score());
    await eventually('6 in flight, 3 queued', () => pool.inFlight === 6 && pool.queued === 3);
    expect(held.map((h) => h.replica.active())).toEqual([2, 2, 2]);
    for (const h of held) h.release();
    expect((await Promise.all(answers)).map((a) => a.status)).toEqual(Array(9).fill(200));
    expect(held.every((h) => h.replica.peak() <= 2)).toBe(true);
  });

  it('answers 503 with Retry-After when no slot frees within max_queue_wait', async () => {
    const { replica: a, release } = await heldReplica('a');
    await serve([
      route({
        service: 'iris',
        maxQueueWait: { seconds: 0, nanos: 200_000_000 },
        replicas: [replica(a.address)],
      }),
    ]);
    const first = score();
    await eventually('the slot taken', () => a.active() === 1);
    const refused = await score();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ error: { code: 503 } });
    release();
    expect((await first).status).toBe(200);
    expect(a.received).toHaveLength(1);
  });

  it('answers 503 when a service has no READY replica', async () => {
    await serve([
      route({ service: 'iris', maxQueueWait: { seconds: 0, nanos: 100_000_000 }, replicas: [] }),
    ]);
    expect((await score()).status).toBe(503);
  });
});

describe('replica failures', () => {
  it('answers 504 when the replica is slower than scoring_timeout', async () => {
    const { replica: a } = await heldReplica('a');
    await serve([
      route({
        service: 'iris',
        scoringTimeout: { seconds: 0, nanos: 300_000_000 },
        replicas: [replica(a.address)],
      }),
    ]);
    const answer = await score();
    expect(answer.status).toBe(504);
    expect(await answer.json()).toMatchObject({ error: { code: 504 } });
    // The slot is free again.
    expect(router!.router.pools.get('iris')!.inFlight).toBe(0);
  });

  it('answers 502 when the replica fails after the request was sent', async () => {
    const a = await upstream('a', async (req) => {
      for await (const _ of req) void _;
      req.socket.destroy();
    });
    const b = await upstream('b');
    await serve([
      route({ service: 'iris', maxConcurrentPerReplica: 1, replicas: [replica(a.address)] }),
      route({ service: 'other', replicas: [replica(b.address)] }),
    ]);
    const answer = await score();
    expect(answer.status).toBe(502);
    expect(await answer.json()).toMatchObject({ error: { code: 502 } });
    expect(a.received).toHaveLength(1);
  });

  it('tries one other replica when the connection is refused', async () => {
    const deadPort = await freePort();
    const b = await upstream('b');
    await serve([
      route({
        service: 'iris',
        maxConcurrentPerReplica: 4,
        replicas: [replica(`127.0.0.1:${deadPort}`), replica(b.address)],
      }),
    ]);
    const answers = await Promise.all(Array.from({ length: 4 }, () => score()));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(b.received).toHaveLength(4);
    expect(router!.logs.some((l) => l['msg'] === 'request' && l['retried'] === true)).toBe(true);
  });

  it('answers 502 when the only replica refuses the connection', async () => {
    const deadPort = await freePort();
    await serve([
      route({
        service: 'iris',
        maxQueueWait: { seconds: 0, nanos: 100_000_000 },
        replicas: [replica(`127.0.0.1:${deadPort}`)],
      }),
    ]);
    expect((await score()).status).toBe(502);
  });
});

describe('streaming', () => {
  it('streams the request body: the replica has the first bytes before the client sent the rest', async () => {
    let receivedBytes = 0;
    const a = await upstream('a', async (req, res) => {
      for await (const chunk of req) receivedBytes += (chunk as Buffer).length;
      res.end(JSON.stringify({ receivedBytes }));
    });
    await serve([route({ service: 'iris', replicas: [replica(a.address)] })]);
    const { req, response } = open(scoreUrl());
    req.write(Buffer.alloc(64 * 1024, 'a'));
    await eventually('the first chunk at the replica', () => receivedBytes >= 64 * 1024);
    req.end(Buffer.alloc(64 * 1024, 'b'));
    const answer = await readAnswer(await response);
    expect(JSON.parse(answer.body)).toEqual({ receivedBytes: 128 * 1024 });
  });

  it('streams the response: the client reads the first bytes before the replica finished', async () => {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    gates.push(finish);
    const a = await upstream('a', async (req, res) => {
      for await (const _ of req) void _;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part;');
      await finished;
      res.end('second part');
    });
    await serve([route({ service: 'iris', replicas: [replica(a.address)] })]);
    const { req, response } = open(scoreUrl());
    req.end('{}');
    const answer = await response;
    const first = await new Promise<string>((resolve) =>
      answer.once('data', (chunk: Buffer) => resolve(chunk.toString())),
    );
    expect(first).toBe('first part;');
    finish();
    const rest: Buffer[] = [];
    for await (const chunk of answer) rest.push(chunk as Buffer);
    expect(Buffer.concat(rest).toString()).toBe('second part');
  });

  it('passes a large body through without holding it', async () => {
    let receivedBytes = 0;
    const a = await upstream('a', async (req, res) => {
      for await (const chunk of req) receivedBytes += (chunk as Buffer).length;
      res.end(String(receivedBytes));
    });
    await serve([route({ service: 'iris', replicas: [replica(a.address)] })]);
    const size = 64 * 1024 * 1024;
    const before = process.memoryUsage().rss;
    const { req, response } = open(scoreUrl(), { headers: { 'content-length': size } });
    const chunk = Buffer.alloc(1024 * 1024, 'q');
    for (let sent = 0; sent < size; sent += chunk.length) {
      if (!req.write(chunk)) await new Promise((resolve) => req.once('drain', resolve));
    }
    req.end();
    const answer = await readAnswer(await response);
    expect(answer.body).toBe(String(size));
    // The router, the replica and this client share the process: a router holding the body
    // would add its 64 MiB on top of what streaming costs. Generous bound.
    expect(process.memoryUsage().rss - before).toBeLessThan(48 * 1024 * 1024);
  });
});

describe('data collection', () => {
  it('records request and response pairs of services with data collection on', async () => {
    const records: CollectedRecord[] = [];
    const a = await upstream('a');
    router = await startTestRouter(cp.address, {}, { record: (r) => records.push(r) });
    cp.publish(
      table(1, [
        route({ service: 'iris', dataCollection: true, replicas: [replica(a.address)] }),
        route({ service: 'quiet', replicas: [replica(a.address)] }),
      ]),
    );
    await eventually('the table', () => router!.router.table.current?.version === 1);
    expect(
      (await score({ body: '{"data":[1]}', headers: { 'x-ms-client-request-id': 'dc-1' } })).status,
    ).toBe(200);
    expect((await score({ body: '{}' }, 'quiet')).status).toBe(200);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      service: 'iris',
      workspace: 'team-a',
      requestId: 'dc-1',
      status: 200,
      input: '{"data":[1]}',
      inputTruncated: false,
    });
    expect(JSON.parse(records[0]!.output)).toMatchObject({ replica: 'a' });
  });
});

describe('slow clients', () => {
  it('answers 408 when a request body stalls longer than the idle timeout', async () => {
    const a = await upstream('a');
    await serve([route({ service: 'iris', replicas: [replica(a.address)] })], {
      idleTimeoutMs: 300,
    });
    const { req, response } = open(scoreUrl(), { headers: { 'content-length': 1_000 } });
    req.write('{"partial":');
    const answer = await readAnswer(await response);
    req.destroy();
    expect(answer.status).toBe(408);
    expect(router!.router.pools.get('iris')!.inFlight).toBe(0);
  });

  it('closes a connection whose headers do not arrive within the headers timeout', async () => {
    await serve([route({ service: 'iris', replicas: [] })], { headersTimeoutMs: 200 });
    const { port } = new URL(router!.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write('POST /api/v1/service/iris/score HTTP/1.1\r\nHost: x\r\n');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });
});
