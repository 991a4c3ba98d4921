import { randomBytes as nodeRandomBytes } from 'node:crypto';

/**
 * A source of cryptographically strong random bytes. Injectable so tests can make key and
 * nonce generation deterministic; production code uses the default.
 */
export type RandomBytes = (size: number) => Uint8Array;

/** `crypto.randomBytes` from Node.js: the default {@link RandomBytes}. */
export const secureRandomBytes: RandomBytes = (size) => nodeRandomBytes(size);

/** A clock; injectable so expiry and rotation can be tested without waiting. */
export type Clock = () => Date;

/** The wall clock: the default {@link Clock}. */
export const systemClock: Clock = () => new Date();
