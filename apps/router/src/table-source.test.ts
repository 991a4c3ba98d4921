import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReplicaPhase } from '@skiff/proto';
import {
  replica,
  route,
  startFakeControlPlane,
  table,
  type FakeControlPlane,
} from './test-support/control-plane.js';
import { startReplica, type TestReplica } from './test-support/replicas.js';
import { eventually, startTestRouter, type TestRouter } from './test-support/router.js';

let cp: FakeControlPlane;
let router: TestRouter | undefined;
const replicas: TestReplica[] = [];

beforeEach(async () => {
  cp = await startFakeControlPlane();
});
afterEach(async () => {
  await router?.stop();
  router = undefined;
  await Promise.all(replicas.splice(0).map((r) => r.close()));
  await cp.close();
});

async function replicaNamed(name: string) {
  const r = await startReplica(name);
  replicas.push(r);
  return r;
}

const score = (base: string, service: string, body = '{"x":1}') =>
  fetch(`${base}/api/v1/service/${service}/score`, { method: 'POST', body });

describe('routing table', () => {
  it('is not ready before the first table, ready after; watches with its identity and credential', async () => {
    router = await startTestRouter(cp.address);
    await eventually('a watch stream', () => cp.openWatches() === 1);
    expect((await fetch(`${router.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${router.url}/readyz`)).status).toBe(503);
    const early = await score(router.url, 'iris');
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('1');

    const a = await replicaNamed('a');
    cp.publish(table(1, [route({ service: 'iris', replicas: [replica(a.address)] })]));
    await eventually('ready', async () => (await fetch(`${router!.url}/readyz`)).status === 200);
    const answer = await score(router.url, 'iris');
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ replica: 'a', path: '/score', body: '{"x":1}' });
    expect(cp.watchRequests[0]).toEqual({
      workspace: 'team-a',
      compute: 'local',
      routerId: 'router-test',
    });
    expect(cp.authorizations[0]).toBe('Bearer skf_router_test');
  });

  it('holds a request that arrives before the first table until the table comes (a restart fails nothing)', async () => {
    router = await startTestRouter(cp.address, { startupWaitMs: 30_000 });
    await eventually('a watch stream', () => cp.openWatches() === 1);
    const early = score(router.url, 'iris');
    // The request is waiting, not refused: it is answered once the table arrives.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const a = await replicaNamed('a');
    cp.publish(table(1, [route({ service: 'iris', replicas: [replica(a.address)] })]));
    const answer = await early;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ replica: 'a' });
  });

  it('answers 404 with a JSON body for unknown and deleted services', async () => {
    const a = await replicaNamed('a');
    cp.publish(table(1, [route({ service: 'iris', replicas: [replica(a.address)] })]));
    router = await startTestRouter(cp.address);
    await eventually('table', () => router!.router.table.current?.version === 1);
    const unknown = await score(router.url, 'nope');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/json');
    expect(await unknown.json()).toMatchObject({ error: { code: 404 } });
    expect((await score(router.url, 'iris')).status).toBe(200);

    cp.publish(table(2, []));
    await eventually('deletion', () => router!.router.table.current?.version === 2);
    expect((await score(router.url, 'iris')).status).toBe(404);
    expect((await fetch(`${router.url}/elsewhere`)).status).toBe(404);
  });

  it('ignores a table older than the one it has', async () => {
    const a = await replicaNamed('a');
    const b = await replicaNamed('b');
    router = await startTestRouter(cp.address);
    cp.publish(table(5, [route({ service: 'iris', replicas: [replica(a.address)] })]));
    await eventually('v5', () => router!.router.table.current?.version === 5);
    cp.publish(table(4, [route({ service: 'iris', replicas: [replica(b.address)] })]));
    cp.publish(table(6, [route({ service: 'other', replicas: [replica(b.address)] })]));
    await eventually('v6', () => router!.router.table.current?.version === 6);
    expect(
      router.logs.some((l) => l['msg'] === 'older routing table ignored' && l['version'] === 4),
    ).toBe(true);
    expect(b.received).toHaveLength(0);
  });

  it('keeps serving the last table while the control plane is away, and resumes the stream', async () => {
    const a = await replicaNamed('a');
    const b = await replicaNamed('b');
    cp.publish(table(1, [route({ service: 'iris', replicas: [replica(a.address)] })]));
    router = await startTestRouter(cp.address);
    await eventually('v1', () => router!.router.table.current?.version === 1);

    cp.dropWatches();
    expect((await score(router.url, 'iris')).status).toBe(200);
    await eventually('the stream resumed', () => cp.openWatches() === 1);

    await cp.stop();
    for (let i = 0; i < 3; i++) expect((await score(router.url, 'iris')).status).toBe(200);
    expect((await fetch(`${router.url}/readyz`)).status).toBe(200);

    cp.publish(table(2, [route({ service: 'iris', replicas: [replica(b.address)] })]));
    await cp.restart();
    await eventually(
      'v2 after the restart',
      () => router!.router.table.current?.version === 2,
      15_000,
    );
    expect(await (await score(router.url, 'iris')).json()).toMatchObject({ replica: 'b' });
  });

  it('starts while the control plane is down and picks the table up when it comes', async () => {
    await cp.stop();
    router = await startTestRouter(cp.address);
    expect((await fetch(`${router.url}/readyz`)).status).toBe(503);
    const a = await replicaNamed('a');
    cp.publish(table(1, [route({ service: 'iris', replicas: [replica(a.address)] })]));
    await cp.restart();
    await eventually('v1', () => router!.router.table.current?.version === 1, 15_000);
    expect((await score(router.url, 'iris')).status).toBe(200);
  });

  it('sends nothing to TERMINATING or STARTING replicas', async () => {
    const ready = await replicaNamed('ready');
    const terminating = await replicaNamed('terminating');
    const starting = await replicaNamed('starting');
    router = await startTestRouter(cp.address);
    cp.publish(
      table(1, [
        route({
          service: 'iris',
          maxConcurrentPerReplica: 4,
          replicas: [
            replica(terminating.address, ReplicaPhase.REPLICA_PHASE_TERMINATING),
            replica(ready.address),
            replica(starting.address, ReplicaPhase.REPLICA_PHASE_STARTING),
          ],
        }),
      ]),
    );
    await eventually('v1', () => router!.router.table.current?.version === 1);
    const answers = await Promise.all(Array.from({ length: 12 }, () => score(router!.url, 'iris')));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    expect(ready.received).toHaveLength(12);
    expect(terminating.received).toHaveLength(0);
    expect(starting.received).toHaveLength(0);
  });

  it('reports queued and in-flight requests while there is demand, then a zero report', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = await startReplica('slow', async (req, res) => {
      for await (const _ of req) void _;
      await gate;
      res.end('{}');
    });
    replicas.push(slow);
    router = await startTestRouter(cp.address);
    cp.publish(table(1, [route({ service: 'iris', replicas: [replica(slow.address)] })]));
    await eventually('v1', () => router!.router.table.current?.version === 1);
    const pending = [
      score(router.url, 'iris'),
      score(router.url, 'iris'),
      score(router.url, 'iris'),
    ];
    await eventually('a report of 1 in flight and 2 queued', () =>
      cp.loadReports.some((r) =>
        r.services.some(
          (s) =>
            s.service === 'iris' && s.workspace === 'team-a' && s.inFlight === 1 && s.queued === 2,
        ),
      ),
    );
    expect(cp.loadReports.every((r) => r.routerId === 'router-test')).toBe(true);
    release();
    expect((await Promise.all(pending)).map((a) => a.status)).toEqual([200, 200, 200]);
    await eventually('a zero report', () => {
      const last = cp.loadReports.at(-1);
      return (
        last?.services.some((s) => s.service === 'iris' && s.inFlight === 0 && s.queued === 0) ??
        false
      );
    });
  });
});
