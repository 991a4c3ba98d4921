import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UnauthenticatedError } from '@skiff/errors';
import { InvalidAuthInputError } from './errors.js';
import {
  authenticateTeamCredential,
  InMemoryCredentialStore,
  issueTeamCredential,
  parseStoredTeamCredential,
  parseTeamCredentialToken,
  revokeTeamCredential,
} from './team-credentials.js';
import { flipBase64urlChar } from './test-support/fixtures.js';

const now = new Date('2025-06-01T12:00:00.000Z');

function storeWith(
  ...credentials: ReturnType<typeof issueTeamCredential>[]
): InMemoryCredentialStore {
  const store = new InMemoryCredentialStore();
  for (const { credential } of credentials) store.put(credential);
  return store;
}

describe('team API credentials', () => {
  it('issues skf_<id>_<secret> and stores only a digest of the secret', () => {
    const issued = issueTeamCredential({ workspace: 'team-a', role: 'deployer', now });
    const parsed = parseTeamCredentialToken(issued.token);
    expect(issued.token).toMatch(/^skf_[0-9a-f]{24}_[\w-]{43}$/);
    expect(parsed?.id).toBe(issued.credential.id);
    expect(JSON.stringify(issued.credential)).not.toContain(parsed!.secret);
    expect(issued.credential).toMatchObject({
      workspace: 'team-a',
      role: 'deployer',
      createdAt: now.toISOString(),
    });
  });

  it('authenticates to the credential’s workspace and role', async () => {
    const issued = issueTeamCredential({ workspace: 'team-a', role: 'reader' });
    await expect(authenticateTeamCredential(issued.token, storeWith(issued))).resolves.toEqual({
      via: 'team-credential',
      principal: issued.credential.id,
      workspace: 'team-a',
      role: 'reader',
    });
  });

  it('rejects any change to the secret', async () => {
    const issued = issueTeamCredential({ workspace: 'team-a', role: 'admin' });
    const store = storeWith(issued);
    const secretStart = 'skf_'.length + 24 + 1;
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 42 }), async (offset) => {
        const changed = flipBase64urlChar(issued.token, secretStart + offset);
        await expect(authenticateTeamCredential(changed, store)).rejects.toThrow(
          UnauthenticatedError,
        );
      }),
    );
  });

  it('rejects a secret from another credential under this id', async () => {
    const a = issueTeamCredential({ workspace: 'team-a', role: 'admin' });
    const b = issueTeamCredential({ workspace: 'team-a', role: 'admin' });
    const mixed = `skf_${a.credential.id}_${parseTeamCredentialToken(b.token)!.secret}`;
    const rejection = authenticateTeamCredential(mixed, storeWith(a, b));
    await expect(rejection).rejects.toThrow(UnauthenticatedError);
    await expect(rejection).rejects.toHaveProperty(
      'cause.message',
      expect.stringMatching(/wrong secret/),
    );
  });

  it('rejects unknown ids and malformed tokens with the same message', async () => {
    const issued = issueTeamCredential({ workspace: 'team-a', role: 'admin' });
    for (const token of [issued.token, 'skf_nothex_x', 'bearer', `${issued.token}x`]) {
      const rejection = authenticateTeamCredential(token, new InMemoryCredentialStore());
      await expect(rejection).rejects.toThrow(UnauthenticatedError);
      await expect(rejection).rejects.toThrow('invalid credentials');
    }
  });

  it('rejects a revoked credential from then on', async () => {
    const issued = issueTeamCredential({ workspace: 'team-a', role: 'deployer' });
    const store = storeWith(issued);
    await expect(authenticateTeamCredential(issued.token, store)).resolves.toBeDefined();
    expect(store.revoke(issued.credential.id, now)).toBe(true);
    const rejection = authenticateTeamCredential(issued.token, store);
    await expect(rejection).rejects.toThrow(UnauthenticatedError);
    await expect(rejection).rejects.toHaveProperty(
      'cause.message',
      expect.stringMatching(/revoked/),
    );
    expect(store.list('team-a')[0]?.revokedAt).toBe(now.toISOString());
    expect(store.revoke('0'.repeat(24))).toBe(false);
  });

  it('keeps the first revocation time', () => {
    const { credential } = issueTeamCredential({ workspace: 'team-a', role: 'reader' });
    const revoked = revokeTeamCredential(credential, now);
    expect(revokeTeamCredential(revoked, new Date(now.getTime() + 1_000)).revokedAt).toBe(
      now.toISOString(),
    );
  });

  it('round-trips through JSON storage and rejects malformed records', () => {
    const { credential } = issueTeamCredential({
      workspace: '*',
      role: 'admin',
      description: 'platform operators',
    });
    const revoked = revokeTeamCredential(credential, now);
    expect(parseStoredTeamCredential(JSON.parse(JSON.stringify(revoked)))).toEqual(revoked);
    expect(() => parseStoredTeamCredential({ ...credential, role: 'root' })).toThrow(
      InvalidAuthInputError,
    );
    expect(() => parseStoredTeamCredential({ ...credential, secret: 'x' })).toThrow(
      InvalidAuthInputError,
    );
  });

  it('refuses invalid workspaces and roles', () => {
    expect(() => issueTeamCredential({ workspace: 'Team A', role: 'reader' })).toThrow(
      InvalidAuthInputError,
    );
    expect(() =>
      issueTeamCredential({ workspace: 'team-a', role: 'root' as unknown as 'reader' }),
    ).toThrow(InvalidAuthInputError);
  });
});
