import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import { z } from 'zod';
import { InvalidAuthInputError, SecretUnsealError } from './errors.js';
import { type MasterKeyRing } from './master-keys.js';

/** The JWS algorithm of service tokens: ECDSA P-256 with SHA-256. */
export const SERVICE_TOKEN_ALGORITHM = 'ES256';

/** Default lifetime of a service token (its `refresh_by`), in seconds: one hour. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3_600;

/** Format tag of {@link StoredTokenSigningKeys}; bump on any incompatible change. */
export const STORED_TOKEN_SIGNING_KEYS_FORMAT = 'skiff.token-signing-keys/v1';

/** Options of {@link TokenSigningKeyRing.create}. */
export interface TokenSigningKeyRingOptions {
  /** Lifetime of every token signed from this ring; default {@link DEFAULT_TOKEN_LIFETIME_SECONDS}. */
  readonly tokenLifetimeSeconds?: number;
  /**
   * How long past the last possible expiry a replaced key stays published, to absorb clock skew
   * between control plane and routers; default 300.
   */
  readonly retentionMarginSeconds?: number;
}

/** One signing key as persisted. */
export interface StoredTokenSigningKey {
  /** RFC 7638 thumbprint of the public key; the JWT header's `kid`. */
  readonly kid: string;
  /** From when this key signs, ISO 8601. */
  readonly activatesAt: string;
  /** The public key (what the JWKS publishes). */
  readonly publicJwk: JWK;
  /** The private JWK as JSON, sealed by a {@link MasterKeyRing} and bound to `kid`. */
  readonly sealedPrivateJwk: string;
}

/** A whole {@link TokenSigningKeyRing}, JSON-safe, for a store to persist. */
export interface StoredTokenSigningKeys {
  readonly format: typeof STORED_TOKEN_SIGNING_KEYS_FORMAT;
  readonly tokenLifetimeSeconds: number;
  readonly retentionMarginSeconds: number;
  /** Oldest first. */
  readonly keys: readonly StoredTokenSigningKey[];
}

interface SigningKey {
  readonly kid: string;
  readonly activatesAt: Date;
  readonly publicJwk: JWK;
  readonly privateKey: CryptoKey;
}

/**
 * The control plane's ES256 keys for service tokens. The newest active key signs; a key that
 * was replaced stays in the JWKS until every token it signed has expired (the replacement's
 * activation + token lifetime + margin), then {@link TokenSigningKeyRing.prune} drops it. With
 * `publishAheadSeconds` on {@link TokenSigningKeyRing.rotate}, a new key is published before it
 * signs, so routers holding a slightly old JWKS never see an unknown `kid`.
 */
export class TokenSigningKeyRing {
  readonly #options: Required<TokenSigningKeyRingOptions>;
  /** Sorted by activation, oldest first. */
  #keys: SigningKey[];

  protected constructor(options: Required<TokenSigningKeyRingOptions>, keys: SigningKey[]) {
    this.#options = options;
    this.#keys = keys;
  }

  /** A ring with one fresh key, active from `now`. */
  static async create(
    options: TokenSigningKeyRingOptions & { readonly now?: Date } = {},
  ): Promise<TokenSigningKeyRing> {
    const ring = new TokenSigningKeyRing(resolveOptions(options), []);
    await ring.rotate({ now: options.now ?? new Date() });
    return ring;
  }

  /**
   * Restores a ring persisted by {@link TokenSigningKeyRing.export}.
   * @throws InvalidAuthInputError when the record is malformed or a key's parts disagree.
   * @throws SecretUnsealError when a private key does not open with `masterKeys`.
   */
  static async import(stored: unknown, masterKeys: MasterKeyRing): Promise<TokenSigningKeyRing> {
    const parsed = storedSchema.safeParse(stored);
    if (!parsed.success) {
      throw new InvalidAuthInputError('stored token signing keys are malformed', {
        cause: parsed.error,
      });
    }
    const keys: SigningKey[] = [];
    for (const entry of parsed.data.keys) {
      const publicJwk = entry.publicJwk as JWK;
      if ((await calculateJwkThumbprint(publicJwk)) !== entry.kid) {
        throw new InvalidAuthInputError(`signing key '${entry.kid}' does not match its kid`);
      }
      const privateJwk = parsePrivateJwk(
        masterKeys.open(entry.sealedPrivateJwk, privateKeyAssociatedData(entry.kid)),
      );
      if (privateJwk.x !== publicJwk.x || privateJwk.y !== publicJwk.y) {
        throw new InvalidAuthInputError(`signing key '${entry.kid}' has a foreign private key`);
      }
      const privateKey = await importJWK(privateJwk, SERVICE_TOKEN_ALGORITHM, {
        extractable: true,
      });
      if (privateKey instanceof Uint8Array) {
        throw new InvalidAuthInputError(`signing key '${entry.kid}' is not an EC key`);
      }
      keys.push({
        kid: entry.kid,
        activatesAt: new Date(entry.activatesAt),
        publicJwk,
        privateKey,
      });
    }
    keys.sort((a, b) => a.activatesAt.getTime() - b.activatesAt.getTime());
    return new TokenSigningKeyRing(
      {
        tokenLifetimeSeconds: parsed.data.tokenLifetimeSeconds,
        retentionMarginSeconds: parsed.data.retentionMarginSeconds,
      },
      keys,
    );
  }

  /** Lifetime of every token signed from this ring, in seconds. */
  get tokenLifetimeSeconds(): number {
    return this.#options.tokenLifetimeSeconds;
  }

  /** Ids of the keys held, oldest first (including ones not active yet). */
  get keyIds(): readonly string[] {
    return this.#keys.map((key) => key.kid);
  }

  /**
   * Adds a new key that signs from `now + publishAheadSeconds` on (default: at once), and drops
   * keys whose tokens have all expired. Returns the new key's `kid`.
   */
  async rotate(options: {
    readonly now: Date;
    readonly publishAheadSeconds?: number;
  }): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(SERVICE_TOKEN_ALGORITHM, {
      extractable: true,
    });
    // Keep only the public members: no `ext`/`key_ops`, so the thumbprint and JWKS are canonical.
    const publicJwk: JWK = z.object(ecPublicJwkSchema.shape).parse(await exportJWK(publicKey));
    const kid = await calculateJwkThumbprint(publicJwk);
    const activatesAt = new Date(
      options.now.getTime() + (options.publishAheadSeconds ?? 0) * 1_000,
    );
    this.#keys = [...this.#keys, { kid, activatesAt, publicJwk, privateKey }].sort(
      (a, b) => a.activatesAt.getTime() - b.activatesAt.getTime(),
    );
    this.prune(options.now);
    return kid;
  }

  /**
   * Drops every key whose tokens have all expired by `now`: a key stops signing when a newer
   * one activates, and its last token expires one token lifetime (plus the margin) later.
   * Returns the dropped `kid`s.
   */
  prune(now: Date): string[] {
    const keepFor =
      (this.#options.tokenLifetimeSeconds + this.#options.retentionMarginSeconds) * 1_000;
    const dropped: string[] = [];
    this.#keys = this.#keys.filter((key, index) => {
      const successor = this.#keys[index + 1];
      const expired =
        successor !== undefined && successor.activatesAt.getTime() + keepFor <= now.getTime();
      if (expired) dropped.push(key.kid);
      return !expired;
    });
    return dropped;
  }

  /**
   * The key that signs at `now`: the newest active one.
   * @throws InvalidAuthInputError when no key is active yet.
   */
  signingKey(now: Date): { readonly kid: string; readonly privateKey: CryptoKey } {
    const active = this.#keys.filter((key) => key.activatesAt.getTime() <= now.getTime()).at(-1);
    if (!active) throw new InvalidAuthInputError('no token signing key is active yet');
    return { kid: active.kid, privateKey: active.privateKey };
  }

  /**
   * The public JSON Web Key Set routers verify with: every key held (pending, signing and
   * retiring), public parts only.
   */
  jwks(): JSONWebKeySet {
    return {
      keys: this.#keys.map((key) => ({
        ...key.publicJwk,
        kid: key.kid,
        alg: SERVICE_TOKEN_ALGORITHM,
        use: 'sig',
      })),
    };
  }

  /** The ring as a JSON-safe record, private keys sealed with `masterKeys`. */
  async export(masterKeys: MasterKeyRing): Promise<StoredTokenSigningKeys> {
    const keys = await Promise.all(
      this.#keys.map(async (key) => ({
        kid: key.kid,
        activatesAt: key.activatesAt.toISOString(),
        publicJwk: key.publicJwk,
        sealedPrivateJwk: masterKeys.seal(
          JSON.stringify(await exportJWK(key.privateKey)),
          privateKeyAssociatedData(key.kid),
        ),
      })),
    );
    return {
      format: STORED_TOKEN_SIGNING_KEYS_FORMAT,
      tokenLifetimeSeconds: this.#options.tokenLifetimeSeconds,
      retentionMarginSeconds: this.#options.retentionMarginSeconds,
      keys,
    };
  }
}

function resolveOptions(options: TokenSigningKeyRingOptions): Required<TokenSigningKeyRingOptions> {
  const resolved = {
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
    retentionMarginSeconds: options.retentionMarginSeconds ?? 300,
  };
  if (!Number.isInteger(resolved.tokenLifetimeSeconds) || resolved.tokenLifetimeSeconds < 1) {
    throw new InvalidAuthInputError('tokenLifetimeSeconds must be a positive integer');
  }
  if (!Number.isInteger(resolved.retentionMarginSeconds) || resolved.retentionMarginSeconds < 0) {
    throw new InvalidAuthInputError('retentionMarginSeconds must be a non-negative integer');
  }
  return resolved;
}

function privateKeyAssociatedData(kid: string): string {
  return `skiff/token-signing-key/v1\u0000${kid}`;
}

const ecPublicJwkSchema = z.strictObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string().min(1),
  y: z.string().min(1),
});

const ecPrivateJwkSchema = z.looseObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string().min(1),
  y: z.string().min(1),
  d: z.string().min(1),
});

const storedSchema = z.strictObject({
  format: z.literal(STORED_TOKEN_SIGNING_KEYS_FORMAT),
  tokenLifetimeSeconds: z.number().int().positive(),
  retentionMarginSeconds: z.number().int().nonnegative(),
  keys: z.array(
    z.strictObject({
      kid: z.string().min(1),
      activatesAt: z.iso.datetime({ offset: true }),
      publicJwk: ecPublicJwkSchema,
      sealedPrivateJwk: z.string().min(1),
    }),
  ),
});

function parsePrivateJwk(bytes: Buffer): JWK {
  try {
    return ecPrivateJwkSchema.parse(JSON.parse(bytes.toString('utf8'))) as JWK;
  } catch (cause) {
    throw new SecretUnsealError('sealed signing key is not an EC private JWK', { cause });
  }
}
