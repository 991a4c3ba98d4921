import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { UnauthenticatedError } from '@skiff/errors';
import { SecretUnsealError } from './errors.js';
import {
  issueServiceToken,
  serviceTokenAudience,
  ServiceTokenVerifier,
  verifyServiceToken,
  type ServiceRef,
} from './service-tokens.js';
import { TokenSigningKeyRing } from './signing-keys.js';
import { testMasterKeys } from './test-support/fixtures.js';

const issuer = 'https://control-plane.skiff.test';
const service: ServiceRef = { workspace: 'team-a', name: 'churn' };
const t0 = new Date('2025-06-01T12:00:00.000Z');
const at = (seconds: number): Date => new Date(t0.getTime() + seconds * 1_000);

describe('service tokens', () => {
  it('issues an ES256 JWT scoped to one service, expiring at refreshBy', async () => {
    const keyRing = await TokenSigningKeyRing.create({ now: t0 });
    const { token, refreshBy } = await issueServiceToken({ keyRing, issuer, service, now: t0 });
    expect(refreshBy).toEqual(at(3_600));
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'JWT', kid: keyRing.keyIds[0] });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: issuer,
      aud: 'skiff:service:team-a/churn',
      iat: t0.getTime() / 1_000,
      exp: refreshBy.getTime() / 1_000,
    });
    const verified = await verifyServiceToken(token, {
      issuer,
      keys: keyRing,
      service,
      now: at(60),
    });
    expect(verified.expiresAt).toEqual(refreshBy);
    expect(verified.audience).toBe(serviceTokenAudience(service));
  });

  it('honours a configured lifetime', async () => {
    const keyRing = await TokenSigningKeyRing.create({ now: t0, tokenLifetimeSeconds: 600 });
    const { refreshBy } = await issueServiceToken({ keyRing, issuer, service, now: t0 });
    expect(refreshBy).toEqual(at(600));
  });

  it('rejects the token for another service, another workspace, another issuer', async () => {
    const keyRing = await TokenSigningKeyRing.create({ now: t0 });
    const { token } = await issueServiceToken({ keyRing, issuer, service, now: t0 });
    const verify = (options: { service: ServiceRef; issuer: string }) =>
      verifyServiceToken(token, { ...options, keys: keyRing, now: at(1) });
    await expect(verify({ service: { ...service, name: 'other' }, issuer })).rejects.toThrow(
      UnauthenticatedError,
    );
    await expect(verify({ service: { ...service, workspace: 'team-b' }, issuer })).rejects.toThrow(
      UnauthenticatedError,
    );
    await expect(verify({ service, issuer: 'https://elsewhere.test' })).rejects.toThrow(
      UnauthenticatedError,
    );
    await expect(verify({ service, issuer })).resolves.toBeDefined();
  });

  it('rejects a token after refreshBy plus the clock tolerance', async () => {
    const keyRing = await TokenSigningKeyRing.create({ now: t0 });
    const { token } = await issueServiceToken({ keyRing, issuer, service, now: t0 });
    const options = { issuer, keys: keyRing, service, clockToleranceSeconds: 30 };
    await expect(verifyServiceToken(token, { ...options, now: at(3_629) })).resolves.toBeDefined();
    const late = verifyServiceToken(token, { ...options, now: at(3_631) });
    await expect(late).rejects.toThrow(UnauthenticatedError);
    await expect(late).rejects.toHaveProperty('cause.code', 'ERR_JWT_EXPIRED');
  });

  it('rejects a token signed by a key outside the JWKS, unsigned or with a changed payload', async () => {
    const keyRing = await TokenSigningKeyRing.create({ now: t0 });
    const stranger = await TokenSigningKeyRing.create({ now: t0 });
    const forged = await issueServiceToken({ keyRing: stranger, issuer, service, now: t0 });
    const options = { issuer, keys: keyRing.jwks(), service, now: at(1) };
    await expect(verifyServiceToken(forged.token, options)).rejects.toThrow(UnauthenticatedError);

    const unsigned = new UnsecuredJWT({})
      .setIssuer(issuer)
      .setAudience(serviceTokenAudience(service))
      .setSubject('x')
      .setIssuedAt(t0)
      .setExpirationTime(at(60))
      .encode();
    await expect(verifyServiceToken(unsigned, options)).rejects.toThrow(UnauthenticatedError);

    const { token } = await issueServiceToken({ keyRing, issuer, service, now: t0 });
    const [header, , signature] = token.split('.');
    const widened = Buffer.from(
      JSON.stringify({ ...decodeJwt(token), aud: 'skiff:service:team-b/churn' }),
    ).toString('base64url');
    await expect(
      verifyServiceToken(`${header}.${widened}.${signature}`, {
        ...options,
        service: { workspace: 'team-b', name: 'churn' },
      }),
    ).rejects.toThrow(UnauthenticatedError);
  });

  it('rejects a token signed with another algorithm under the same kid', async () => {
    const keyRing = await TokenSigningKeyRing.create({ now: t0 });
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: keyRing.keyIds[0]! })
      .setIssuer(issuer)
      .setAudience(serviceTokenAudience(service))
      .setSubject('x')
      .setIssuedAt(t0)
      .setExpirationTime(at(60))
      .sign(privateKey);
    await expect(
      verifyServiceToken(token, { issuer, keys: keyRing.jwks(), service, now: at(1) }),
    ).rejects.toThrow(UnauthenticatedError);
  });

  it('publishes public keys only', async () => {
    const keyRing = await TokenSigningKeyRing.create({ now: t0 });
    const jwks = keyRing.jwks();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});

describe('TokenSigningKeyRing rotation', () => {
  it('signs with the new key and keeps verifying the old one until its tokens expired', async () => {
    const keyRing = await TokenSigningKeyRing.create({
      now: t0,
      tokenLifetimeSeconds: 3_600,
      retentionMarginSeconds: 60,
    });
    const oldKid = keyRing.keyIds[0]!;
    const old = await issueServiceToken({ keyRing, issuer, service, now: at(100) });
    const newKid = await keyRing.rotate({ now: at(200) });
    const fresh = await issueServiceToken({ keyRing, issuer, service, now: at(300) });
    expect(decodeProtectedHeader(fresh.token).kid).toBe(newKid);
    expect(keyRing.jwks().keys.map((key) => key.kid)).toEqual([oldKid, newKid]);

    // A router holding the current JWKS accepts tokens of both keys.
    const router = ServiceTokenVerifier.fromJwks({ issuer, jwks: keyRing.jwks() });
    await expect(router.verify(old.token, { service, now: at(400) })).resolves.toBeDefined();
    await expect(router.verify(fresh.token, { service, now: at(400) })).resolves.toBeDefined();

    // The old key stays until rotation time + lifetime + margin, then goes.
    expect(keyRing.prune(at(200 + 3_600 + 59))).toEqual([]);
    expect(keyRing.prune(at(200 + 3_600 + 60))).toEqual([oldKid]);
    expect(keyRing.keyIds).toEqual([newKid]);
    router.updateJwks(keyRing.jwks());
    await expect(router.verify(old.token, { service, now: at(400) })).rejects.toThrow(
      UnauthenticatedError,
    );
    await expect(router.verify(fresh.token, { service, now: at(400) })).resolves.toBeDefined();
  });

  it('publishes a key ahead of time before it signs', async () => {
    const keyRing = await TokenSigningKeyRing.create({ now: t0 });
    const firstKid = keyRing.keyIds[0]!;
    const nextKid = await keyRing.rotate({ now: at(10), publishAheadSeconds: 600 });
    expect(keyRing.jwks().keys.map((key) => key.kid)).toEqual([firstKid, nextKid]);
    const before = await issueServiceToken({ keyRing, issuer, service, now: at(609) });
    const after = await issueServiceToken({ keyRing, issuer, service, now: at(610) });
    expect(decodeProtectedHeader(before.token).kid).toBe(firstKid);
    expect(decodeProtectedHeader(after.token).kid).toBe(nextKid);
  });

  it('exports sealed keys and imports them into an equal ring', async () => {
    const masterKeys = testMasterKeys();
    const keyRing = await TokenSigningKeyRing.create({ now: t0, tokenLifetimeSeconds: 900 });
    await keyRing.rotate({ now: at(10) });
    const issued = await issueServiceToken({ keyRing, issuer, service, now: at(20) });
    const stored = JSON.parse(JSON.stringify(await keyRing.export(masterKeys))) as unknown;
    expect(JSON.stringify(stored)).not.toContain('"d"');

    const restored = await TokenSigningKeyRing.import(stored, masterKeys);
    expect(restored.keyIds).toEqual(keyRing.keyIds);
    expect(restored.tokenLifetimeSeconds).toBe(900);
    expect(restored.jwks()).toEqual(keyRing.jwks());
    // The restored ring signs with the same key: a router with the old JWKS accepts it.
    const next = await issueServiceToken({ keyRing: restored, issuer, service, now: at(30) });
    const router = ServiceTokenVerifier.fromJwks({ issuer, jwks: keyRing.jwks() });
    await expect(router.verify(next.token, { service, now: at(31) })).resolves.toBeDefined();
    await expect(router.verify(issued.token, { service, now: at(31) })).resolves.toBeDefined();
  });

  it('refuses to import with the wrong master key or a swapped public key', async () => {
    const masterKeys = testMasterKeys();
    const a = await (await TokenSigningKeyRing.create({ now: t0 })).export(masterKeys);
    const b = await (await TokenSigningKeyRing.create({ now: t0 })).export(masterKeys);
    await expect(TokenSigningKeyRing.import(a, testMasterKeys())).rejects.toThrow(
      SecretUnsealError,
    );
    const swapped = { ...a, keys: [{ ...a.keys[0]!, publicJwk: b.keys[0]!.publicJwk }] };
    await expect(TokenSigningKeyRing.import(swapped, masterKeys)).rejects.toThrow(
      /does not match its kid/,
    );
    const resealed = {
      ...a,
      keys: [{ ...b.keys[0]!, sealedPrivateJwk: a.keys[0]!.sealedPrivateJwk }],
    };
    await expect(TokenSigningKeyRing.import(resealed, masterKeys)).rejects.toThrow(
      SecretUnsealError,
    );
    await expect(TokenSigningKeyRing.import({ ...a, format: 'x' }, masterKeys)).rejects.toThrow(
      /malformed/,
    );
  });
});
