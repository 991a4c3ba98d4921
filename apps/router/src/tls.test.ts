import { copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '@skiff/testing';
import { makeCertificate, type TestCertificate } from './test-support/certificates.js';
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
let upstream: TestReplica;
let dir: string;

beforeEach(async () => {
  cp = await startFakeControlPlane();
  upstream = await startReplica('a');
  dir = mkdtempSync(join(tmpdir(), 'skiff-router-tls-'));
});
afterEach(async () => {
  await router?.stop();
  router = undefined;
  await upstream.close();
  await cp.close();
  rmSync(dir, { recursive: true, force: true });
});

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

/** POSTs to the HTTPS listener, trusting `ca`; resolves with the status and the peer's fingerprint. */
function score(url: string, ca: string, agent: Agent | false = false) {
  return new Promise<{ status: number; fingerprint: string; reused: boolean }>(
    (resolve, reject) => {
      const req = request(
        `${url}/api/v1/service/iris/score`,
        { method: 'POST', ca, agent },
        (res) => {
          const peer = (
            res.socket as unknown as { getPeerCertificate(): PeerCertificate }
          ).getPeerCertificate();
          res.resume();
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              fingerprint: peer.fingerprint256,
              reused: req.reusedSocket,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end('{}');
    },
  );
}

async function startTls(cert: TestCertificate) {
  const port = await freePort();
  router = await startTestRouter(cp.address, {
    tls: {
      listen: { host: '127.0.0.1', port },
      certPath: cert.certPath,
      keyPath: cert.keyPath,
      reloadIntervalMs: 100,
    },
  });
  cp.publish(
    table(1, [
      route({ service: 'iris', maxConcurrentPerReplica: 4, replicas: [replica(upstream.address)] }),
    ]),
  );
  await eventually('the table', () => router!.router.table.current?.version === 1);
  return { http: router.router.urls[0]!, https: router.router.urls[1]! };
}

describe('TLS', () => {
  it('serves HTTP and HTTPS together, with TLS 1.2 or newer only', async () => {
    const first = makeCertificate(dir, 'first');
    const { http, https } = await startTls(first);
    expect(https).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(
      (await fetch(`${http}/api/v1/service/iris/score`, { method: 'POST', body: '{}' })).status,
    ).toBe(200);
    const answer = await score(https, first.cert);
    expect(answer).toMatchObject({ status: 200, fingerprint: fingerprint(first.cert) });

    const port = Number(new URL(https).port);
    const old = await new Promise<string>((resolve) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        ca: first.cert,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      });
      socket.once('secureConnect', () => {
        resolve(`connected with ${socket.getProtocol()}`);
        socket.destroy();
      });
      socket.once('error', (error) => resolve(`refused: ${error.message}`));
    });
    expect(old).toMatch(/^refused/);
  });

  it('reloads a changed certificate without dropping open connections', async () => {
    const first = makeCertificate(dir, 'first');
    const second = makeCertificate(dir, 'second');
    const live = { certPath: join(dir, 'live.crt'), keyPath: join(dir, 'live.key') };
    copyFileSync(first.certPath, live.certPath);
    copyFileSync(first.keyPath, live.keyPath);
    const { https } = await startTls({ ...first, ...live });
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await score(https, first.cert, keepAlive)).toMatchObject({
        status: 200,
        fingerprint: fingerprint(first.cert),
      });

      // Replaced the way secret mounts and careful operators do it: write aside, rename over.
      copyFileSync(second.certPath, `${live.certPath}.new`);
      copyFileSync(second.keyPath, `${live.keyPath}.new`);
      renameSync(`${live.keyPath}.new`, live.keyPath);
      renameSync(`${live.certPath}.new`, live.certPath);
      await eventually('the reload', () =>
        router!.logs.some((l) => l['msg'] === 'TLS certificate reloaded'),
      );

      // The connection opened before the reload still works.
      const again = await score(https, first.cert, keepAlive);
      expect(again).toMatchObject({
        status: 200,
        reused: true,
        fingerprint: fingerprint(first.cert),
      });
      // New connections get the new certificate.
      expect(await score(https, second.cert)).toMatchObject({
        status: 200,
        fingerprint: fingerprint(second.cert),
      });
    } finally {
      keepAlive.destroy();
    }
  });

  it('keeps the old certificate when the new files do not form a pair', async () => {
    const first = makeCertificate(dir, 'first');
    const second = makeCertificate(dir, 'second');
    const live = { certPath: join(dir, 'live.crt'), keyPath: join(dir, 'live.key') };
    copyFileSync(first.certPath, live.certPath);
    copyFileSync(first.keyPath, live.keyPath);
    const { https } = await startTls({ ...first, ...live });
    copyFileSync(second.certPath, live.certPath); // the key stays the first one
    await eventually('the refused reload', () =>
      router!.logs.some(
        (l) => l['msg'] === 'TLS certificate not reloaded; keeping the previous one',
      ),
    );
    expect(await score(https, first.cert)).toMatchObject({
      status: 200,
      fingerprint: fingerprint(first.cert),
    });
  });
});
