import { z } from 'zod';
import { digestMatches, sha256Base64url } from './digest.js';
import { InvalidAuthInputError, SecretUnsealError } from './errors.js';
import { type MasterKeyRing } from './master-keys.js';
import { secureRandomBytes, type RandomBytes } from './random.js';

/** The two key slots of a service, as in Azure ML v1 (`regen_key('Primary' | 'Secondary')`). */
export type KeySlot = 'primary' | 'secondary';

/** Both slots, in a fixed order. */
export const KEY_SLOTS: readonly KeySlot[] = ['primary', 'secondary'];

/** Random bytes in a generated service key (256 bits). */
export const SERVICE_KEY_BYTES = 32;

/**
 * Shortest caller-chosen key (`keys.primaryKey` / `keys.secondaryKey`) accepted. Keys are
 * stored as unsalted SHA-256, which is only safe for keys an attacker cannot guess offline; 32
 * characters of the bearer-token alphabet keep that true for any reasonably random key.
 */
export const MIN_CALLER_KEY_LENGTH = 32;

/** Longest caller-chosen key accepted (it travels in an HTTP header). */
export const MAX_CALLER_KEY_LENGTH = 256;

/** RFC 6750 `b64token`: what may follow `Bearer ` in an Authorization header. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Format tag of {@link StoredServiceKeys}; bump on any incompatible change. */
export const STORED_SERVICE_KEYS_FORMAT = 'skiff.service-keys/v1';

/** One stored key slot. */
export interface StoredServiceKey {
  /**
   * SHA-256 of the key, base64url: all that verification needs. A plain hash (no salt, no slow
   * KDF) is enough because generated keys carry 256 random bits and caller-chosen ones must be
   * at least {@link MIN_CALLER_KEY_LENGTH} characters: there is nothing to brute-force.
   */
  readonly sha256: string;
  /**
   * The key itself, sealed by {@link MasterKeyRing} and bound to the service id and slot, kept
   * only because `get_keys` must return it.
   */
  readonly sealed: string;
  /** When this key was set, ISO 8601. */
  readonly createdAt: string;
}

/**
 * Everything stored for one service's keys: JSON-safe, so a store can persist it as is (e.g.
 * `JSON.stringify` into a Redis hash field) and read it back with {@link parseStoredServiceKeys}.
 */
export interface StoredServiceKeys {
  readonly format: typeof STORED_SERVICE_KEYS_FORMAT;
  /** The service these keys belong to, e.g. `<workspace>/<service>`; bound into each seal. */
  readonly serviceId: string;
  readonly primary: StoredServiceKey;
  readonly secondary: StoredServiceKey;
}

/**
 * The part of {@link StoredServiceKeys} that verifies keys: digests only, safe to hand to
 * routers, which never hold a master key.
 */
export interface ServiceKeyDigests {
  readonly primary: { readonly sha256: string };
  readonly secondary: { readonly sha256: string };
}

/** The plaintext keys, as `get_keys` returns them. */
export interface ServiceKeyPair {
  readonly primaryKey: string;
  readonly secondaryKey: string;
}

/** Options shared by functions that set keys. */
export interface SetServiceKeyOptions {
  /** Seals the keys at rest. */
  readonly masterKeys: MasterKeyRing;
  /** Time recorded as `createdAt`; default now. */
  readonly now?: Date;
  /** Source of new keys; default `crypto.randomBytes`. */
  readonly random?: RandomBytes;
}

/** Options of {@link createServiceKeys}. */
export interface CreateServiceKeysOptions extends SetServiceKeyOptions {
  /** The service, e.g. `<workspace>/<service>`. */
  readonly serviceId: string;
  /** Caller-chosen primary key (deploymentconfig `keys.primaryKey`); default generated. */
  readonly primaryKey?: string | undefined;
  /** Caller-chosen secondary key (deploymentconfig `keys.secondaryKey`); default generated. */
  readonly secondaryKey?: string | undefined;
}

/** Options of {@link regenerateServiceKey}. */
export interface RegenerateServiceKeyOptions extends SetServiceKeyOptions {
  /** Caller-chosen replacement (Azure ML's `regen_key(..., set_key=)`); default generated. */
  readonly key?: string | undefined;
}

/** A new service key: {@link SERVICE_KEY_BYTES} random bytes, base64url (43 characters). */
export function generateServiceKey(random: RandomBytes = secureRandomBytes): string {
  const bytes = random(SERVICE_KEY_BYTES);
  if (bytes.byteLength !== SERVICE_KEY_BYTES) {
    throw new InvalidAuthInputError(`random source returned ${bytes.byteLength} bytes`);
  }
  return Buffer.from(bytes).toString('base64url');
}

/**
 * Checks a caller-chosen key: {@link MIN_CALLER_KEY_LENGTH}–{@link MAX_CALLER_KEY_LENGTH}
 * characters of the bearer-token alphabet.
 * @throws InvalidAuthInputError naming `field` when it is not acceptable.
 */
export function assertAcceptableServiceKey(key: string, field = 'key'): void {
  if (key.length < MIN_CALLER_KEY_LENGTH || key.length > MAX_CALLER_KEY_LENGTH) {
    throw new InvalidAuthInputError(
      `${field} must be ${MIN_CALLER_KEY_LENGTH}-${MAX_CALLER_KEY_LENGTH} characters long`,
      { field },
    );
  }
  if (!BEARER_TOKEN.test(key)) {
    throw new InvalidAuthInputError(
      `${field} may only contain A-Z a-z 0-9 - . _ ~ + / and trailing =`,
      { field },
    );
  }
}

/**
 * Creates the keys of a new service: caller-chosen ones when given, generated otherwise.
 * @throws InvalidAuthInputError when a chosen key is not acceptable or both are equal.
 */
export function createServiceKeys(options: CreateServiceKeysOptions): StoredServiceKeys {
  assertServiceId(options.serviceId);
  const keys = {
    primary: chooseKey(options.primaryKey, 'keys.primaryKey', options.random),
    secondary: chooseKey(options.secondaryKey, 'keys.secondaryKey', options.random),
  };
  if (keys.primary === keys.secondary) {
    throw new InvalidAuthInputError('keys.primaryKey and keys.secondaryKey must differ');
  }
  const createdAt = (options.now ?? new Date()).toISOString();
  const seal = (slot: KeySlot): StoredServiceKey =>
    storeKey(options.masterKeys, options.serviceId, slot, keys[slot], createdAt);
  return {
    format: STORED_SERVICE_KEYS_FORMAT,
    serviceId: options.serviceId,
    primary: seal('primary'),
    secondary: seal('secondary'),
  };
}

/**
 * Replaces the key in `slot`; the returned record no longer verifies the old key. The other
 * slot is kept as is.
 * @throws InvalidAuthInputError when a chosen key is not acceptable or equals the other slot's.
 */
export function regenerateServiceKey(
  stored: StoredServiceKeys,
  slot: KeySlot,
  options: RegenerateServiceKeyOptions,
): StoredServiceKeys {
  const key = chooseKey(options.key, 'key', options.random);
  if (digestMatches(key, stored[otherSlot(slot)].sha256)) {
    throw new InvalidAuthInputError(
      `the new ${slot} key must differ from the ${otherSlot(slot)} key`,
    );
  }
  const createdAt = (options.now ?? new Date()).toISOString();
  return {
    ...stored,
    [slot]: storeKey(options.masterKeys, stored.serviceId, slot, key, createdAt),
  };
}

/**
 * Which slot `presented` matches, or `undefined`. Both digests are always compared, in
 * constant time, so the time taken tells nothing about either key.
 */
export function verifyServiceKey(
  digests: ServiceKeyDigests,
  presented: string,
): KeySlot | undefined {
  const primary = digestMatches(presented, digests.primary.sha256);
  const secondary = digestMatches(presented, digests.secondary.sha256);
  if (primary) return 'primary';
  return secondary ? 'secondary' : undefined;
}

/** The digests of `stored`, for routers (see {@link ServiceKeyDigests}). */
export function serviceKeyDigests(stored: StoredServiceKeys): ServiceKeyDigests {
  return {
    primary: { sha256: stored.primary.sha256 },
    secondary: { sha256: stored.secondary.sha256 },
  };
}

/**
 * Decrypts both keys for `get_keys`, and checks each against its digest.
 * @throws SecretUnsealError when a seal does not open or does not match its digest.
 */
export function revealServiceKeys(
  stored: StoredServiceKeys,
  masterKeys: MasterKeyRing,
): ServiceKeyPair {
  const reveal = (slot: KeySlot): string => {
    const key = masterKeys
      .open(stored[slot].sealed, keyAssociatedData(stored.serviceId, slot))
      .toString('utf8');
    if (!digestMatches(key, stored[slot].sha256)) {
      throw new SecretUnsealError(`the sealed ${slot} key does not match its digest`);
    }
    return key;
  };
  return { primaryKey: reveal('primary'), secondaryKey: reveal('secondary') };
}

/**
 * Re-seals both keys under the current master key (after a master-key rotation). Returns the
 * same object when nothing needed re-sealing, so callers can skip the write.
 */
export function resealServiceKeys(
  stored: StoredServiceKeys,
  masterKeys: MasterKeyRing,
): StoredServiceKeys {
  if (KEY_SLOTS.every((slot) => masterKeys.isCurrent(stored[slot].sealed))) return stored;
  const reseal = (slot: KeySlot): StoredServiceKey => ({
    ...stored[slot],
    sealed: masterKeys.reseal(stored[slot].sealed, keyAssociatedData(stored.serviceId, slot)),
  });
  return { ...stored, primary: reseal('primary'), secondary: reseal('secondary') };
}

const storedKeySchema = z.strictObject({
  sha256: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  sealed: z.string().min(1),
  createdAt: z.iso.datetime({ offset: true }),
});

const storedServiceKeysSchema = z.strictObject({
  format: z.literal(STORED_SERVICE_KEYS_FORMAT),
  serviceId: z.string().min(1).max(256),
  primary: storedKeySchema,
  secondary: storedKeySchema,
});

/**
 * Validates a value read back from storage (e.g. the result of `JSON.parse`).
 * @throws InvalidAuthInputError when it is not a {@link StoredServiceKeys}.
 */
export function parseStoredServiceKeys(value: unknown): StoredServiceKeys {
  const result = storedServiceKeysSchema.safeParse(value);
  if (!result.success) {
    throw new InvalidAuthInputError('stored service keys are malformed', { cause: result.error });
  }
  return result.data;
}

function chooseKey(
  chosen: string | undefined,
  field: string,
  random: RandomBytes | undefined,
): string {
  if (chosen === undefined) return generateServiceKey(random);
  assertAcceptableServiceKey(chosen, field);
  return chosen;
}

function storeKey(
  masterKeys: MasterKeyRing,
  serviceId: string,
  slot: KeySlot,
  key: string,
  createdAt: string,
): StoredServiceKey {
  return {
    sha256: sha256Base64url(key),
    sealed: masterKeys.seal(key, keyAssociatedData(serviceId, slot)),
    createdAt,
  };
}

/** Binds a sealed key to its service and slot: moved elsewhere, it fails to open. */
function keyAssociatedData(serviceId: string, slot: KeySlot): string {
  return `skiff/service-key/v1\u0000${serviceId}\u0000${slot}`;
}

function otherSlot(slot: KeySlot): KeySlot {
  return slot === 'primary' ? 'secondary' : 'primary';
}

function assertServiceId(serviceId: string): void {
  if (serviceId.length === 0 || serviceId.length > 256 || serviceId.includes('\u0000')) {
    throw new InvalidAuthInputError('service id must be 1-256 characters without NUL');
  }
}
