import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueServiceToken, TokenSigningKeyRing } from '@skiff/auth';
import { AuthMode } from '@skiff/proto';
import { AuthFailureLimiter } from './auth-limiter.js';
import {
  replica,
  route,
  startFakeControlPlane,
  table,
  type FakeControlPlane,
} from './test-support/control-plane.js';
import { startReplica, type TestReplica } from './test-support/replicas.js';
import { eventually, startTestRouter, type TestRouter } from './test-support/router.js';

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
const ISSUER = 'https://control-plane.test';

let cp: FakeControlPlane;
let router: TestRouter;
let upstream: TestReplica;

beforeEach(async () => {
  cp = await startFakeControlPlane();
  upstream = await startReplica('a');
});
afterEach(async () => {
  await router?.stop();
  await upstream.close();
  await cp.close();
});

async function publishAndWait(
  version: number,
  ...args: Parameters<typeof table> extends [number, ...infer R] ? R : never
) {
  cp.publish(table(version, ...args));
  await eventually(`table v${version}`, () => router.router.table.current?.version === version);
}

function scoreWith(service: string, authorization?: string) {
  return fetch(`${router.url}/api/v1/service/${service}/score`, {
    method: 'POST',
    body: '{}',
    headers: authorization === undefined ? {} : { authorization },
  });
}

describe('key auth', () => {
  it('opens with the primary or secondary key, refuses others with 401 and WWW-Authenticate', async () => {
    router = await startTestRouter(cp.address);
    await publishAndWait(1, [
      route({
        service: 'iris',
        authMode: AuthMode.AUTH_MODE_KEY,
        keySha256: [sha256('primary-key'), sha256('secondary-key')],
        replicas: [replica(upstream.address)],
      }),
    ]);
    expect((await scoreWith('iris', 'Bearer primary-key')).status).toBe(200);
    expect((await scoreWith('iris', 'bearer secondary-key')).status).toBe(200);
    for (const header of [
      undefined,
      'Bearer wrong-key',
      'primary-key',
      'Basic primary-key',
      'Bearer ',
    ]) {
      const answer = await scoreWith('iris', header);
      expect(answer.status, String(header)).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(await answer.json()).toMatchObject({ error: { code: 401 } });
    }
    expect(upstream.received).toHaveLength(2);
    // The key is the router's business: replicas never see it.
    expect(upstream.received[0]!.headers.authorization).toBeUndefined();
  });

  it('refuses a replaced key as soon as the new table version arrives', async () => {
    router = await startTestRouter(cp.address);
    const service = (keys: string[]) =>
      route({
        service: 'iris',
        authMode: AuthMode.AUTH_MODE_KEY,
        keySha256: keys.map(sha256),
        replicas: [replica(upstream.address)],
      });
    await publishAndWait(1, [service(['old-primary', 'secondary'])]);
    expect((await scoreWith('iris', 'Bearer old-primary')).status).toBe(200);
    await publishAndWait(2, [service(['new-primary', 'secondary'])]);
    expect((await scoreWith('iris', 'Bearer old-primary')).status).toBe(401);
    expect((await scoreWith('iris', 'Bearer new-primary')).status).toBe(200);
    expect((await scoreWith('iris', 'Bearer secondary')).status).toBe(200);
  });

  it('accepts no caller at all for a key-auth service without keys', async () => {
    router = await startTestRouter(cp.address);
    await publishAndWait(1, [
      route({
        service: 'iris',
        authMode: AuthMode.AUTH_MODE_KEY,
        keySha256: [],
        replicas: [replica(upstream.address)],
      }),
    ]);
    expect((await scoreWith('iris', 'Bearer anything')).status).toBe(401);
    expect((await scoreWith('iris')).status).toBe(401);
  });

  it('is open for auth mode none', async () => {
    router = await startTestRouter(cp.address);
    await publishAndWait(1, [
      route({
        service: 'iris',
        authMode: AuthMode.AUTH_MODE_NONE,
        replicas: [replica(upstream.address)],
      }),
    ]);
    expect((await scoreWith('iris')).status).toBe(200);
    expect((await scoreWith('iris', 'Bearer whatever')).status).toBe(200);
  });
});

describe('token auth', () => {
  it('accepts a valid token for the service; refuses expired, other-audience, other-issuer and unknown-key tokens', async () => {
    // Active from hours ago, so it can sign an already expired token.
    const ring = await TokenSigningKeyRing.create({ now: new Date(Date.now() - 4 * 3_600_000) });
    const stranger = await TokenSigningKeyRing.create();
    const iris = { workspace: 'team-a', name: 'iris' };
    router = await startTestRouter(cp.address);
    await publishAndWait(
      1,
      [
        route({
          service: 'iris',
          authMode: AuthMode.AUTH_MODE_TOKEN,
          tokenAudience: 'skiff:service:team-a/iris',
          replicas: [replica(upstream.address)],
        }),
      ],
      { tokenJwks: JSON.stringify(ring.jwks()), tokenIssuer: ISSUER },
    );
    const valid = await issueServiceToken({ keyRing: ring, issuer: ISSUER, service: iris });
    expect((await scoreWith('iris', `Bearer ${valid.token}`)).status).toBe(200);

    const expired = await issueServiceToken({
      keyRing: ring,
      issuer: ISSUER,
      service: iris,
      now: new Date(Date.now() - 3 * 3_600_000),
    });
    const otherService = await issueServiceToken({
      keyRing: ring,
      issuer: ISSUER,
      service: { workspace: 'team-a', name: 'other' },
    });
    const otherIssuer = await issueServiceToken({
      keyRing: ring,
      issuer: 'https://elsewhere.test',
      service: iris,
    });
    const unknownKey = await issueServiceToken({
      keyRing: stranger,
      issuer: ISSUER,
      service: iris,
    });
    for (const [what, token] of [
      ['expired', expired.token],
      ['wrong audience', otherService.token],
      ['wrong issuer', otherIssuer.token],
      ['unknown key', unknownKey.token],
      ['not a JWT', 'abc.def.ghi'],
    ] as const) {
      const answer = await scoreWith('iris', `Bearer ${token}`);
      expect(answer.status, what).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(upstream.received).toHaveLength(1);
    const logged = router.logs.filter((l) => l['msg'] === 'request' && l['status'] === 401);
    expect(logged.map((l) => l['error'])).toContain('invalid token (ERR_JWT_EXPIRED)');
  });
});

describe('auth failure rate limit', () => {
  it('answers 429 to an address after repeated failures, without affecting open services', async () => {
    router = await startTestRouter(cp.address, {
      authFailureLimit: 3,
      authFailureWindowMs: 60_000,
    });
    await publishAndWait(1, [
      route({
        service: 'iris',
        authMode: AuthMode.AUTH_MODE_KEY,
        keySha256: [sha256('k')],
        replicas: [replica(upstream.address)],
      }),
      route({ service: 'open', replicas: [replica(upstream.address)] }),
    ]);
    for (let i = 0; i < 3; i++) expect((await scoreWith('iris', 'Bearer guess')).status).toBe(401);
    const limited = await scoreWith('iris', 'Bearer guess');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Blocked even with the right key until the window passes: guessing must not pay.
    expect((await scoreWith('iris', 'Bearer k')).status).toBe(429);
    expect((await scoreWith('open')).status).toBe(200);
  });

  it('counts per address and forgets after the window', () => {
    let now = 0;
    const limiter = new AuthFailureLimiter({ limit: 2, windowMs: 1_000, now: () => now });
    limiter.fail('10.0.0.1');
    limiter.fail('10.0.0.1');
    expect(limiter.blockedFor('10.0.0.1')).toBe(1);
    expect(limiter.blockedFor('10.0.0.2')).toBe(0);
    now = 1_000;
    expect(limiter.blockedFor('10.0.0.1')).toBe(0);
    limiter.fail('10.0.0.3');
    expect(limiter.size).toBe(1);
  });
});
