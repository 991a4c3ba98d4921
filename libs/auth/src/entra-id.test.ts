import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntraIdAuthenticator, type EntraIdConfig } from './entra-id.js';
import { UnauthenticatedError } from '@skiff/errors';
import { InvalidAuthInputError } from './errors.js';
import { startLocalJwksIssuer, type LocalJwksIssuer } from './test-support/jwks-server.js';

const tenant = '11111111-1111-1111-1111-111111111111';
const otherTenant = '22222222-2222-2222-2222-222222222222';
const issuerUrl = `https://login.microsoftonline.com/${tenant}/v2.0`;
const audience = 'api://skiff';
const now = new Date('2025-06-01T12:00:00.000Z');
const seconds = (date: Date): number => Math.floor(date.getTime() / 1_000);

let issuer: LocalJwksIssuer;
beforeAll(async () => {
  issuer = await startLocalJwksIssuer();
});
afterAll(async () => {
  await issuer.close();
});

function config(overrides: Partial<EntraIdConfig> = {}): EntraIdConfig {
  return {
    issuers: [issuerUrl],
    audience,
    jwksUri: issuer.jwksUri,
    mappings: [
      { tenantId: tenant, objectId: 'user-oid', workspace: 'team-a', role: 'admin' },
      { tenantId: tenant, appId: 'ci-app', workspace: 'team-a', role: 'deployer' },
      { tenantId: tenant, appRole: 'Skiff.Read', workspace: 'team-b', role: 'reader' },
    ],
    ...overrides,
  };
}

function claims(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    iss: issuerUrl,
    aud: audience,
    tid: tenant,
    iat: seconds(now) - 60,
    exp: seconds(now) + 3_600,
    ...extra,
  };
}

describe('EntraIdAuthenticator', () => {
  const authenticator = () => EntraIdAuthenticator.create(config(), { now: () => now });

  it('verifies against the JWKS served on loopback and maps a user by object id', async () => {
    const token = await issuer.sign(claims({ oid: 'user-oid' }));
    const fetchesBefore = issuer.fetches();
    await expect(authenticator().authenticate(token)).resolves.toEqual({
      via: 'entra-id',
      principal: `entra:${tenant}/user-oid`,
      workspace: 'team-a',
      role: 'admin',
    });
    expect(issuer.fetches()).toBeGreaterThan(fetchesBefore);
  });

  it('maps an application by appid (v1) or azp (v2)', async () => {
    for (const claim of ['appid', 'azp']) {
      const token = await issuer.sign(claims({ [claim]: 'ci-app', oid: 'sp-oid' }));
      await expect(authenticator().authenticate(token)).resolves.toMatchObject({
        workspace: 'team-a',
        role: 'deployer',
      });
    }
  });

  it('maps an app role from the roles claim', async () => {
    const token = await issuer.sign(claims({ oid: 'someone', roles: ['Other', 'Skiff.Read'] }));
    await expect(authenticator().authenticate(token)).resolves.toMatchObject({
      workspace: 'team-b',
      role: 'reader',
    });
  });

  it('rejects an identity no rule maps, even a known object id from another tenant', async () => {
    const unmapped = await issuer.sign(claims({ oid: 'stranger' }));
    await expect(authenticator().authenticate(unmapped)).rejects.toThrow(UnauthenticatedError);
    const foreignTenant = await issuer.sign(claims({ oid: 'user-oid', tid: otherTenant }));
    await expect(authenticator().authenticate(foreignTenant)).rejects.toHaveProperty(
      'cause.message',
      expect.stringMatching(/no Entra ID mapping/),
    );
  });

  it.each([
    ['another audience', { aud: 'api://other' }],
    ['another issuer', { iss: `https://login.microsoftonline.com/${otherTenant}/v2.0` }],
    ['an expired token', { exp: seconds(now) - 3_600 }],
    ['no tenant', { tid: undefined }],
  ])('rejects %s', async (_what, extra) => {
    const token = await issuer.sign(claims({ oid: 'user-oid', ...extra }));
    await expect(authenticator().authenticate(token)).rejects.toThrow(UnauthenticatedError);
  });

  it('rejects a token signed by a key the JWKS does not hold', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await issuer.sign(claims({ oid: 'user-oid' }), privateKey);
    await expect(authenticator().authenticate(token)).rejects.toThrow(UnauthenticatedError);
  });

  it.each([
    [
      'a mapping with only a tenant',
      { mappings: [{ tenantId: tenant, workspace: 'team-a', role: 'admin' as const }] },
    ],
    ['a plain-http JWKS off loopback', { jwksUri: 'http://login.example.test/keys' }],
    ['no issuer', { issuers: [] }],
  ])('refuses a configuration with %s', (_what, overrides) => {
    expect(() => EntraIdAuthenticator.create(config(overrides))).toThrow(InvalidAuthInputError);
  });
});
