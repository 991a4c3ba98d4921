import { randomBytes } from 'node:crypto';
import { MasterKeyRing } from '../master-keys.js';

/** A master key ring with one fresh random key, `id` current. */
export function testMasterKeys(id = 'k1'): MasterKeyRing {
  return MasterKeyRing.fromKeys({ currentKeyId: id, keys: { [id]: randomBytes(32) } });
}

/** A random source that repeats `byte`: makes generated keys predictable in tests. */
export function constantRandom(byte: number): (size: number) => Uint8Array {
  return (size) => new Uint8Array(size).fill(byte);
}

/** Flips one bit of the base64url string `value` at character `index` (stays base64url). */
export function flipBase64urlChar(value: string, index: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const position = alphabet.indexOf(value[index] ?? 'A');
  const replacement = alphabet[(position + 1) % alphabet.length] ?? 'A';
  return value.slice(0, index) + replacement + value.slice(index + 1);
}
