import { createCipheriv, createDecipheriv } from 'node:crypto';
import { InvalidAuthInputError, SecretUnsealError } from './errors.js';
import { secureRandomBytes, type RandomBytes } from './random.js';

/** Version tag of the sealed-secret format; bump when the layout or algorithm changes. */
const FORMAT = 'v1';
const CIPHER = 'aes-256-gcm';
const KEY_BYTES = 32;
/** 96-bit nonces are what GCM is specified for; random ones are safe well past our volumes. */
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Options of {@link MasterKeyRing.fromKeys}. */
export interface MasterKeyRingOptions {
  /** Id of the key that seals new secrets; must be one of `keys`. */
  readonly currentKeyId: string;
  /**
   * Every master key that may still open stored secrets, by id (1–32 of `A-Z a-z 0-9 _ -`).
   * Each is exactly 32 bytes (AES-256).
   */
  readonly keys: Readonly<Record<string, Uint8Array>>;
  /** Source of nonces; default `crypto.randomBytes`. */
  readonly random?: RandomBytes;
}

/**
 * The master keys that encrypt secrets at rest (service keys, token-signing keys) with
 * AES-256-GCM. A sealed secret is the string `v1.<keyId>.<nonce>.<ciphertext>.<tag>` (base64url
 * parts): the key id lets old secrets open after a new master key becomes current, and
 * {@link MasterKeyRing.reseal} moves them to it. The associated data passed to `seal` and `open`
 * binds a ciphertext to where it belongs (e.g. service id and key slot), so a sealed value copied
 * to another record does not open.
 */
export class MasterKeyRing {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #currentKeyId: string;
  readonly #random: RandomBytes;

  protected constructor(
    keys: ReadonlyMap<string, Buffer>,
    currentKeyId: string,
    random: RandomBytes,
  ) {
    this.#keys = keys;
    this.#currentKeyId = currentKeyId;
    this.#random = random;
  }

  /**
   * Builds a ring from raw keys.
   * @throws InvalidAuthInputError when an id is malformed, a key is not 32 bytes, or the current
   *   id is not among the keys.
   */
  static fromKeys(options: MasterKeyRingOptions): MasterKeyRing {
    const keys = new Map<string, Buffer>();
    for (const [id, key] of Object.entries(options.keys)) {
      if (!KEY_ID.test(id)) throw new InvalidAuthInputError(`master key id '${id}' is malformed`);
      if (key.byteLength !== KEY_BYTES) {
        throw new InvalidAuthInputError(`master key '${id}' must be ${KEY_BYTES} bytes`);
      }
      keys.set(id, Buffer.from(key));
    }
    if (!keys.has(options.currentKeyId)) {
      throw new InvalidAuthInputError(`current master key '${options.currentKeyId}' is not given`);
    }
    return new MasterKeyRing(keys, options.currentKeyId, options.random ?? secureRandomBytes);
  }

  /**
   * Parses the operator's configuration string `id:base64url[,id:base64url...]`; the first key
   * is current, the others only open older secrets. Meant for one environment variable.
   * @throws InvalidAuthInputError when the string is malformed.
   */
  static parse(spec: string, options: { readonly random?: RandomBytes } = {}): MasterKeyRing {
    const entries = spec
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0)
      .map((part) => {
        const colon = part.indexOf(':');
        const id = colon > 0 ? part.slice(0, colon) : '';
        const encoded = colon > 0 ? part.slice(colon + 1) : '';
        if (!id || !BASE64URL.test(encoded)) {
          throw new InvalidAuthInputError('master keys must look like id:base64url[,id:base64url]');
        }
        return [id, Buffer.from(encoded, 'base64url')] as const;
      });
    const first = entries[0];
    if (!first) throw new InvalidAuthInputError('no master key given');
    if (new Set(entries.map(([id]) => id)).size !== entries.length) {
      throw new InvalidAuthInputError('master key ids must be unique');
    }
    return MasterKeyRing.fromKeys({
      currentKeyId: first[0],
      keys: Object.fromEntries(entries),
      ...(options.random ? { random: options.random } : {}),
    });
  }

  /** Id of the key that seals new secrets. */
  get currentKeyId(): string {
    return this.#currentKeyId;
  }

  /** Encrypts `plaintext` with the current key, bound to `associatedData`. */
  seal(plaintext: Uint8Array | string, associatedData: string): string {
    const key = this.#keys.get(this.#currentKeyId);
    if (!key) throw new SecretUnsealError('current master key disappeared'); // unreachable
    const nonce = this.#random(NONCE_BYTES);
    if (nonce.byteLength !== NONCE_BYTES) {
      throw new InvalidAuthInputError(`random source returned ${nonce.byteLength} bytes`);
    }
    const cipher = createCipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
    return [
      FORMAT,
      this.#currentKeyId,
      Buffer.from(nonce).toString('base64url'),
      ciphertext.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
    ].join('.');
  }

  /**
   * Decrypts a value made by {@link MasterKeyRing.seal} with the same `associatedData`.
   * @throws SecretUnsealError when the key id is unknown or anything was altered.
   */
  open(sealed: string, associatedData: string): Buffer {
    const { keyId, nonce, ciphertext, tag } = parseSealed(sealed);
    const key = this.#keys.get(keyId);
    if (!key) throw new SecretUnsealError(`master key '${keyId}' is not configured`);
    try {
      const decipher = createDecipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch (cause) {
      throw new SecretUnsealError('sealed secret failed authentication', { cause });
    }
  }

  /** Whether `sealed` was made with the current key (false means {@link reseal} it). */
  isCurrent(sealed: string): boolean {
    return parseSealed(sealed).keyId === this.#currentKeyId;
  }

  /** Re-encrypts a sealed value under the current key; used when master keys rotate. */
  reseal(sealed: string, associatedData: string): string {
    return this.isCurrent(sealed)
      ? sealed
      : this.seal(this.open(sealed, associatedData), associatedData);
  }
}

/**
 * A new random 32-byte master key, as the `id:base64url` entry {@link MasterKeyRing.parse} reads.
 * @param id - the key id to prefix.
 */
export function generateMasterKeySpec(id: string, random: RandomBytes = secureRandomBytes): string {
  if (!KEY_ID.test(id)) throw new InvalidAuthInputError(`master key id '${id}' is malformed`);
  return `${id}:${Buffer.from(random(KEY_BYTES)).toString('base64url')}`;
}

function parseSealed(sealed: string): {
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
} {
  const parts = sealed.split('.');
  const [format, keyId, nonce, ciphertext, tag] = parts;
  if (
    parts.length !== 5 ||
    format !== FORMAT ||
    keyId === undefined ||
    !KEY_ID.test(keyId) ||
    nonce === undefined ||
    ciphertext === undefined ||
    tag === undefined ||
    ![nonce, ciphertext, tag].every((part) => BASE64URL.test(part))
  ) {
    throw new SecretUnsealError('sealed secret is malformed');
  }
  const decoded = {
    keyId,
    nonce: Buffer.from(nonce, 'base64url'),
    ciphertext: Buffer.from(ciphertext, 'base64url'),
    tag: Buffer.from(tag, 'base64url'),
  };
  if (decoded.nonce.length !== NONCE_BYTES || decoded.tag.length !== TAG_BYTES) {
    throw new SecretUnsealError('sealed secret is malformed');
  }
  return decoded;
}
