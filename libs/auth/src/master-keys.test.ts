import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidAuthInputError, SecretUnsealError } from './errors.js';
import { MasterKeyRing, generateMasterKeySpec } from './master-keys.js';
import { constantRandom, testMasterKeys } from './test-support/fixtures.js';

describe('MasterKeyRing', () => {
  it('round-trips any plaintext under any associated data', () => {
    const ring = testMasterKeys();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.string(), (plaintext, ad) => {
        const sealed = ring.seal(plaintext, ad);
        expect(ring.open(sealed, ad).equals(Buffer.from(plaintext))).toBe(true);
      }),
    );
  });

  it('rejects a sealed value with any part altered', () => {
    const ring = testMasterKeys();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 2, max: 4 }),
        fc.nat(),
        (plaintext, partIndex, byteSeed) => {
          const parts = ring.seal(plaintext, 'ad').split('.');
          const bytes = Buffer.from(parts[partIndex]!, 'base64url');
          bytes[byteSeed % bytes.length]! ^= 0x01;
          parts[partIndex] = bytes.toString('base64url');
          expect(() => ring.open(parts.join('.'), 'ad')).toThrow(SecretUnsealError);
        },
      ),
    );
  });

  it('rejects opening under different associated data', () => {
    const ring = testMasterKeys();
    const sealed = ring.seal('secret', 'svc-a\u0000primary');
    expect(() => ring.open(sealed, 'svc-a\u0000secondary')).toThrow(SecretUnsealError);
    expect(() => ring.open(sealed, 'svc-b\u0000primary')).toThrow(SecretUnsealError);
  });

  it('uses a fresh nonce each time, so equal plaintexts seal differently', () => {
    const ring = testMasterKeys();
    expect(ring.seal('same', 'ad')).not.toBe(ring.seal('same', 'ad'));
  });

  it('prefixes the format and key id', () => {
    const ring = testMasterKeys('2025-01');
    expect(ring.seal('x', 'ad')).toMatch(/^v1\.2025-01\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
  });

  it('opens secrets sealed under an older key after rotation, and reseals them', () => {
    const oldKey = randomBytes(32);
    const before = MasterKeyRing.fromKeys({ currentKeyId: 'old', keys: { old: oldKey } });
    const sealed = before.seal('secret', 'ad');
    const after = MasterKeyRing.fromKeys({
      currentKeyId: 'new',
      keys: { old: oldKey, new: randomBytes(32) },
    });
    expect(after.isCurrent(sealed)).toBe(false);
    const resealed = after.reseal(sealed, 'ad');
    expect(resealed.split('.')[1]).toBe('new');
    expect(after.open(resealed, 'ad').toString()).toBe('secret');
    expect(after.reseal(resealed, 'ad')).toBe(resealed);
  });

  it('fails to open a secret whose master key is no longer configured', () => {
    const sealed = testMasterKeys('gone').seal('secret', 'ad');
    expect(() => testMasterKeys('k2').open(sealed, 'ad')).toThrow(/'gone' is not configured/);
  });

  it('fails to open with a different key of the same id', () => {
    const sealed = testMasterKeys('k1').seal('secret', 'ad');
    expect(() => testMasterKeys('k1').open(sealed, 'ad')).toThrow(SecretUnsealError);
  });

  it('parses the operator configuration string, first key current', () => {
    const spec = `${generateMasterKeySpec('b')},${generateMasterKeySpec('a')}`;
    const ring = MasterKeyRing.parse(spec);
    expect(ring.currentKeyId).toBe('b');
    expect(generateMasterKeySpec('x', constantRandom(0))).toBe(`x:${'A'.repeat(43)}`);
  });

  it.each([
    ['', /no master key/],
    ['k1', /id:base64url/],
    ['k1:short', /32 bytes/],
    [`k.1:${'A'.repeat(43)}`, /malformed/],
    [`k1:${'A'.repeat(43)},k1:${'B'.repeat(43)}`, /unique/],
  ])('rejects the configuration %j', (spec, message) => {
    expect(() => MasterKeyRing.parse(spec)).toThrow(InvalidAuthInputError);
    expect(() => MasterKeyRing.parse(spec)).toThrow(message);
  });

  it('rejects a current key id that is not among the keys', () => {
    expect(() =>
      MasterKeyRing.fromKeys({ currentKeyId: 'b', keys: { a: randomBytes(32) } }),
    ).toThrow(/'b' is not given/);
  });

  it.each(['', 'v1.k1', 'v2.k1.AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA', 'v1.k1.AA.AA.AA'])(
    'rejects the malformed sealed value %j',
    (sealed) => {
      expect(() => testMasterKeys().open(sealed, 'ad')).toThrow(/malformed/);
    },
  );
});
