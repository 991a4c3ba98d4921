import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidAuthInputError, SecretUnsealError } from './errors.js';
import { MasterKeyRing } from './master-keys.js';
import {
  createServiceKeys,
  generateServiceKey,
  parseStoredServiceKeys,
  regenerateServiceKey,
  resealServiceKeys,
  revealServiceKeys,
  serviceKeyDigests,
  verifyServiceKey,
  type StoredServiceKeys,
} from './service-keys.js';
import { constantRandom, testMasterKeys } from './test-support/fixtures.js';

const masterKeys = testMasterKeys();
const serviceId = 'team-a/churn';
const now = new Date('2025-06-01T12:00:00.000Z');
const chosenPrimary = 'P'.repeat(32);
const chosenSecondary = 'S'.repeat(40) + '==';

function keysOf(stored: StoredServiceKeys): { primaryKey: string; secondaryKey: string } {
  return revealServiceKeys(stored, masterKeys);
}

describe('service keys', () => {
  it('generates 32 random bytes as base64url', () => {
    expect(generateServiceKey(constantRandom(0xff))).toBe('_'.repeat(42) + '8');
    expect(generateServiceKey()).toMatch(/^[\w-]{43}$/);
    expect(generateServiceKey()).not.toBe(generateServiceKey());
  });

  it('creates two different keys that verify in their own slots', () => {
    const stored = createServiceKeys({ serviceId, masterKeys, now });
    const { primaryKey, secondaryKey } = keysOf(stored);
    expect(primaryKey).not.toBe(secondaryKey);
    expect(verifyServiceKey(stored, primaryKey)).toBe('primary');
    expect(verifyServiceKey(stored, secondaryKey)).toBe('secondary');
    expect(stored.primary.createdAt).toBe(now.toISOString());
  });

  it('stores neither key in the clear', () => {
    const stored = createServiceKeys({ serviceId, masterKeys });
    const { primaryKey, secondaryKey } = keysOf(stored);
    const json = JSON.stringify(stored);
    expect(json).not.toContain(primaryKey);
    expect(json).not.toContain(secondaryKey);
  });

  it('verifies no key other than the two current ones', () => {
    const stored = createServiceKeys({ serviceId, masterKeys });
    const { primaryKey, secondaryKey } = keysOf(stored);
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (candidate) => {
        fc.pre(candidate !== primaryKey && candidate !== secondaryKey);
        expect(verifyServiceKey(stored, candidate)).toBeUndefined();
      }),
    );
    // Near misses: one character changed, a prefix, an extension.
    fc.assert(
      fc.property(fc.nat({ max: 42 }), (index) => {
        const changed =
          primaryKey.slice(0, index) +
          (primaryKey[index] === 'a' ? 'b' : 'a') +
          primaryKey.slice(index + 1);
        expect(verifyServiceKey(stored, changed)).toBeUndefined();
        expect(verifyServiceKey(stored, primaryKey.slice(0, index))).toBeUndefined();
        expect(verifyServiceKey(stored, primaryKey + 'x')).toBeUndefined();
      }),
    );
  });

  it('accepts caller-chosen keys (deploymentconfig keys.primaryKey / secondaryKey)', () => {
    const stored = createServiceKeys({
      serviceId,
      masterKeys,
      primaryKey: chosenPrimary,
      secondaryKey: chosenSecondary,
    });
    expect(keysOf(stored)).toEqual({ primaryKey: chosenPrimary, secondaryKey: chosenSecondary });
    expect(verifyServiceKey(stored, chosenSecondary)).toBe('secondary');
  });

  it('generates the slot a caller left out', () => {
    const stored = createServiceKeys({ serviceId, masterKeys, primaryKey: chosenPrimary });
    expect(keysOf(stored).primaryKey).toBe(chosenPrimary);
    expect(keysOf(stored).secondaryKey).toMatch(/^[\w-]{43}$/);
  });

  it.each([
    ['too short', 'x'.repeat(31), /keys.primaryKey must be 32-256 characters/],
    ['too long', 'x'.repeat(257), /keys.primaryKey must be 32-256 characters/],
    ['with a space', 'x'.repeat(20) + ' ' + 'x'.repeat(20), /keys.primaryKey may only contain/],
    ['with a newline', 'x'.repeat(40) + '\n', /keys.primaryKey may only contain/],
  ])('rejects a caller-chosen key %s', (_what, primaryKey, message) => {
    expect(() => createServiceKeys({ serviceId, masterKeys, primaryKey })).toThrow(message);
    expect(() => createServiceKeys({ serviceId, masterKeys, primaryKey })).toThrow(
      expect.objectContaining({ kind: 'invalid-argument', field: 'keys.primaryKey' }),
    );
  });

  it('rejects equal primary and secondary keys', () => {
    expect(() =>
      createServiceKeys({
        serviceId,
        masterKeys,
        primaryKey: chosenPrimary,
        secondaryKey: chosenPrimary,
      }),
    ).toThrow(/must differ/);
  });

  it.each(['primary', 'secondary'] as const)(
    'regenerating the %s key stops the old one at once and keeps the other',
    (slot) => {
      const before = createServiceKeys({ serviceId, masterKeys });
      const old = keysOf(before);
      const after = regenerateServiceKey(before, slot, { masterKeys });
      const fresh = keysOf(after);
      const [oldKey, newKey, keptOld, keptNew] =
        slot === 'primary'
          ? [old.primaryKey, fresh.primaryKey, old.secondaryKey, fresh.secondaryKey]
          : [old.secondaryKey, fresh.secondaryKey, old.primaryKey, fresh.primaryKey];
      expect(newKey).not.toBe(oldKey);
      expect(verifyServiceKey(after, oldKey)).toBeUndefined();
      expect(verifyServiceKey(after, newKey)).toBe(slot);
      expect(keptNew).toBe(keptOld);
      // The record passed in is not changed.
      expect(verifyServiceKey(before, oldKey)).toBe(slot);
    },
  );

  it('regenerates to a caller-chosen key, never to the other slot’s key', () => {
    const stored = createServiceKeys({ serviceId, masterKeys, secondaryKey: chosenSecondary });
    const after = regenerateServiceKey(stored, 'primary', { masterKeys, key: chosenPrimary });
    expect(verifyServiceKey(after, chosenPrimary)).toBe('primary');
    expect(() =>
      regenerateServiceKey(stored, 'primary', { masterKeys, key: chosenSecondary }),
    ).toThrow(/must differ from the secondary key/);
  });

  it('binds each sealed key to its service and slot', () => {
    const stored = createServiceKeys({ serviceId, masterKeys });
    const swapped: StoredServiceKeys = {
      ...stored,
      primary: { ...stored.primary, sealed: stored.secondary.sealed },
    };
    expect(() => revealServiceKeys(swapped, masterKeys)).toThrow(SecretUnsealError);
    const moved: StoredServiceKeys = { ...stored, serviceId: 'team-b/churn' };
    expect(() => revealServiceKeys(moved, masterKeys)).toThrow(SecretUnsealError);
  });

  it('refuses to reveal a key that does not match its digest', () => {
    const stored = createServiceKeys({ serviceId, masterKeys });
    const other = createServiceKeys({ serviceId, masterKeys });
    const mixed: StoredServiceKeys = {
      ...stored,
      primary: { ...stored.primary, sealed: other.primary.sealed },
    };
    expect(() => revealServiceKeys(mixed, masterKeys)).toThrow(/does not match its digest/);
  });

  it('survives JSON storage and validates what it reads back', () => {
    const stored = createServiceKeys({ serviceId, masterKeys });
    const read = parseStoredServiceKeys(JSON.parse(JSON.stringify(stored)));
    expect(read).toEqual(stored);
    expect(verifyServiceKey(read, keysOf(stored).primaryKey)).toBe('primary');
    expect(() => parseStoredServiceKeys({ ...stored, format: 'v0' })).toThrow(
      InvalidAuthInputError,
    );
    expect(() => parseStoredServiceKeys({ ...stored, extra: 1 })).toThrow(InvalidAuthInputError);
    expect(() =>
      parseStoredServiceKeys({ ...stored, primary: { ...stored.primary, sha256: 'short' } }),
    ).toThrow(InvalidAuthInputError);
  });

  it('gives routers digests that verify but reveal nothing', () => {
    const stored = createServiceKeys({ serviceId, masterKeys });
    const digests = serviceKeyDigests(stored);
    expect(JSON.stringify(digests)).not.toContain('v1.');
    expect(verifyServiceKey(digests, keysOf(stored).secondaryKey)).toBe('secondary');
  });

  it('reseals under a new master key and still reveals the same keys', () => {
    const oldKey = Buffer.alloc(32, 1);
    const oldRing = MasterKeyRing.fromKeys({ currentKeyId: 'old', keys: { old: oldKey } });
    const stored = createServiceKeys({ serviceId, masterKeys: oldRing });
    const plain = revealServiceKeys(stored, oldRing);
    const newRing = MasterKeyRing.fromKeys({
      currentKeyId: 'new',
      keys: { new: Buffer.alloc(32, 2), old: oldKey },
    });
    const resealed = resealServiceKeys(stored, newRing);
    expect(resealed.primary.sealed.startsWith('v1.new.')).toBe(true);
    expect(resealed.secondary.sealed.startsWith('v1.new.')).toBe(true);
    expect(revealServiceKeys(resealed, newRing)).toEqual(plain);
    expect(resealServiceKeys(resealed, newRing)).toBe(resealed);
  });
});
