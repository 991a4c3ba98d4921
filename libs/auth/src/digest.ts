import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of the UTF-8 bytes of `value`, base64url. */
export function sha256Base64url(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/**
 * Compares the SHA-256 of `presented` with a stored base64url digest in constant time. Both
 * sides are 32-byte digests, so `timingSafeEqual` never sees unequal lengths and the time taken
 * does not depend on how much of the secret matched.
 */
export function digestMatches(presented: string, storedDigest: string): boolean {
  const actual = createHash('sha256').update(presented, 'utf8').digest();
  const expected = Buffer.from(storedDigest, 'base64url');
  if (expected.length !== actual.length) return false;
  return timingSafeEqual(actual, expected);
}
