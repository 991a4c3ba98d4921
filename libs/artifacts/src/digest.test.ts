import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArtifactHasher, digestHex, isArtifactDigest, sha256Digest } from './digest.js';
import { InvalidDigestError } from './errors.js';

describe('digests', () => {
  it('matches the published sha256 of the empty string and of "abc"', () => {
    expect(sha256Digest('')).toBe(
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(sha256Digest(Buffer.from('abc'))).toBe(
      'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('hashes incrementally to the same digest as all at once, for any split', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), (parts) => {
        const hasher = new ArtifactHasher();
        for (const part of parts) hasher.update(part);
        const whole = Buffer.concat(parts);
        expect(hasher.digest()).toBe(sha256Digest(whole));
        expect(hasher.digest()).toBe(`sha256:${createHash('sha256').update(whole).digest('hex')}`);
        expect(hasher.size).toBe(whole.length);
      }),
    );
  });

  it('refuses updates after the digest was taken', () => {
    const hasher = new ArtifactHasher().update(new Uint8Array([1]));
    hasher.digest();
    expect(() => hasher.update(new Uint8Array([2]))).toThrow();
  });

  it('accepts only sha256 with 64 lowercase hex digits', () => {
    const good = sha256Digest('x');
    expect(isArtifactDigest(good)).toBe(true);
    expect(digestHex(good)).toBe(good.slice(7));
    for (const bad of [
      good.toUpperCase(),
      good.slice(0, -1),
      `${good}0`,
      good.replace('sha256', 'sha512'),
      42,
    ]) {
      expect(isArtifactDigest(bad)).toBe(false);
    }
    expect(() => digestHex('sha256:../../etc/passwd')).toThrow(InvalidDigestError);
  });
});
