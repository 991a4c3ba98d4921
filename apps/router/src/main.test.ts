import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@skiff/testing';
import { ROUTER_VARIABLES } from './config.js';
import {
  replica,
  route,
  startFakeControlPlane,
  table,
  type FakeControlPlane,
} from './test-support/control-plane.js';
import {
  BEHAVIOURS_SCRIPT,
  ROUTER_BIN,
  SCORING_SERVER_BIN,
  startBin,
  type BinProcess,
} from './test-support/processes.js';
import { eventually } from './test-support/router.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function run(env: Record<string, string>, args: string[] = []): BinProcess {
  const bin = startBin(ROUTER_BIN, env, args);
  cleanups.push(() => bin.stop('SIGKILL'));
  return bin;
}

describe('skiff-router', () => {
  it('--help lists every variable and the TLS flags', async () => {
    const bin = run({}, ['--help']);
    const chunks: string[] = [];
    bin.child.stdout!.on('data', (chunk: string) => chunks.push(chunk));
    expect(await bin.exited).toBe(0);
    const help = bin.logs.map((l) => l.msg).join('\n') + chunks.join('');
    for (const name of Object.keys(ROUTER_VARIABLES)) expect(help).toContain(name);
    expect(help).toContain('--tls-cert PATH --tls-key PATH');
  });

  it('exits 2 naming each bad variable', async () => {
    const bin = run({ SKIFF_ROUTER_LISTEN: 'nope', SKIFF_COMPUTE: 'Local!' });
    expect(await bin.exited).toBe(2);
    for (const name of [
      'SKIFF_ENDPOINT',
      'SKIFF_TOKEN',
      'SKIFF_WORKSPACE',
      'SKIFF_COMPUTE',
      'SKIFF_ROUTER_LISTEN',
    ]) {
      expect(bin.stderr()).toContain(`${name}:`);
    }
  });

  describe('with a real scoring-server replica', () => {
    let cp: FakeControlPlane;

    async function start() {
      cp = await startFakeControlPlane();
      cleanups.push(() => cp.close());
      const replicaProcess = startBin(SCORING_SERVER_BIN, {
        SKIFF_ENTRY_SCRIPT: BEHAVIOURS_SCRIPT,
        SKIFF_HOST: '127.0.0.1',
        SKIFF_PORT: '0',
        SKIFF_MAX_CONCURRENT_REQUESTS: '2',
        SKIFF_LOG_LEVEL: 'info',
      });
      cleanups.push(() => replicaProcess.stop());
      const listening = await replicaProcess.waitForLog(
        (l) => l.msg === 'listening',
        'the replica listening',
      );
      await replicaProcess.waitForLog(
        (l) => /^init\(\) finished/.test(String(l.msg)),
        'init() finished',
      );
      const replicaAddress = `127.0.0.1:${Number(listening['port'])}`;
      const listen = `127.0.0.1:${await freePort()}`;
      const router = run({
        SKIFF_ENDPOINT: cp.address,
        SKIFF_TOKEN: 'skf_router_process',
        SKIFF_WORKSPACE: 'team-a',
        SKIFF_COMPUTE: 'local',
        SKIFF_ROUTER_LISTEN: listen,
        SKIFF_ROUTER_DRAIN_TIMEOUT_MS: '20000',
      });
      const line = await router.waitForLog((l) => l.msg === 'listening', 'the router listening');
      expect(line['url']).toBe(`http://${listen}`);
      expect(line['urls']).toEqual([`http://${listen}`]);
      cp.publish(
        table(1, [
          route({
            service: 'iris',
            maxConcurrentPerReplica: 2,
            replicas: [replica(replicaAddress)],
          }),
        ]),
      );
      const base = `http://${listen}`;
      await eventually('ready', async () => (await fetch(`${base}/readyz`)).status === 200);
      return { router, base };
    }

    it('scores through the router, serves swagger.json and metrics', async () => {
      const { base } = await start();
      const answer = await fetch(`${base}/api/v1/service/iris/score`, {
        method: 'POST',
        body: JSON.stringify({ action: 'echo', n: 7 }),
        headers: { 'x-ms-client-request-id': 'proc-1' },
      });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-ms-request-id')).toBe('proc-1');
      expect(await answer.json()).toMatchObject({ echo: { action: 'echo', n: 7 } });
      const raised = await fetch(`${base}/api/v1/service/iris/score`, {
        method: 'POST',
        body: '{"action":"raise"}',
      });
      expect(raised.status).toBe(500);
      const swagger = await fetch(`${base}/api/v1/service/iris/swagger.json`);
      expect(swagger.status).toBe(200);
      expect(await swagger.json()).toHaveProperty('swagger', '2.0');
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain(
        'skiff_router_requests_total{service="iris",route="score",status="200"} 1',
      );
      expect(metrics).toContain('skiff_router_request_duration_seconds_bucket');
      expect(metrics).toContain(
        'skiff_router_queued_requests{workspace="team-a",service="iris"} 0',
      );
      expect(metrics).toContain('skiff_router_in_flight_requests');
    });

    it('drains the request in flight on SIGTERM and exits 0', async () => {
      const { router, base } = await start();
      const dir = mkdtempSync(join(tmpdir(), 'skiff-router-drain-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, 'go');
      const inFlight = fetch(`${base}/api/v1/service/iris/score`, {
        method: 'POST',
        body: JSON.stringify({ action: 'wait', file }),
      });
      await eventually('the request in flight', async () =>
        (await (await fetch(`${base}/metrics`)).text()).includes(
          'skiff_router_in_flight_requests{workspace="team-a",service="iris"} 1',
        ),
      );
      router.child.kill('SIGTERM');
      await router.waitForLog((l) => String(l.msg).startsWith('stopping'), 'stopping');
      expect(existsSync(file)).toBe(false);
      writeFileSync(file, 'go');
      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(await answer.json()).toMatchObject({ waited: true });
      expect(await router.exited).toBe(0);
    });
  });
});
