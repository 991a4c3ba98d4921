import {
  createLocalJWKSet,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { UnauthenticatedError } from '@skiff/errors';
import { InvalidAuthInputError } from './errors.js';
import { secureRandomBytes, type RandomBytes } from './random.js';
import { SERVICE_TOKEN_ALGORITHM, TokenSigningKeyRing } from './signing-keys.js';

/** A web service within its workspace: what a service token is scoped to. */
export interface ServiceRef {
  readonly workspace: string;
  /** The service name (a DNS label). */
  readonly name: string;
}

/** Default leeway for `exp`/`iat` between the control plane's and a router's clocks: 30 s. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;

/**
 * The audience of tokens for `service`: `skiff:service:<workspace>/<service>`. A token carries
 * exactly one, so it opens exactly one service.
 */
export function serviceTokenAudience(service: ServiceRef): string {
  return `skiff:service:${service.workspace}/${service.name}`;
}

/** Options of {@link issueServiceToken}. */
export interface IssueServiceTokenOptions {
  /** Signs the token; also fixes its lifetime. */
  readonly keyRing: TokenSigningKeyRing;
  /** The control plane's issuer URL (`iss`). */
  readonly issuer: string;
  /** The one service the token opens. */
  readonly service: ServiceRef;
  /** Who asked for the token (`sub`), e.g. a credential id; default the audience. */
  readonly subject?: string;
  /** Issue time; default now. */
  readonly now?: Date;
  /** Source of the token id (`jti`); default `crypto.randomBytes`. */
  readonly random?: RandomBytes;
}

/** What `get_token` returns. */
export interface IssuedServiceToken {
  /** The compact JWT. */
  readonly token: string;
  /** The token's expiry (`exp`); the caller must fetch a new one by then. */
  readonly refreshBy: Date;
}

/**
 * Issues an ES256 service token: `iss`, `aud` (one service), `sub`, `iat`, `exp` = refresh_by,
 * `jti`, with the signing key's `kid` in the header.
 */
export async function issueServiceToken(
  options: IssueServiceTokenOptions,
): Promise<IssuedServiceToken> {
  const now = options.now ?? new Date();
  // JWT times are whole seconds; truncating `iat` keeps refreshBy exactly equal to `exp`.
  const issuedAt = Math.floor(now.getTime() / 1_000);
  const expiresAt = issuedAt + options.keyRing.tokenLifetimeSeconds;
  const { kid, privateKey } = options.keyRing.signingKey(now);
  const audience = serviceTokenAudience(options.service);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: SERVICE_TOKEN_ALGORITHM, typ: 'JWT', kid })
    .setIssuer(options.issuer)
    .setAudience(audience)
    .setSubject(options.subject ?? audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(Buffer.from((options.random ?? secureRandomBytes)(16)).toString('base64url'))
    .sign(privateKey);
  return { token, refreshBy: new Date(expiresAt * 1_000) };
}

/** The verified claims of a service token. */
export interface ServiceTokenClaims {
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string;
  readonly expiresAt: Date;
  readonly tokenId: string | undefined;
  readonly keyId: string | undefined;
}

/** Options of {@link ServiceTokenVerifier.fromJwks}. */
export interface ServiceTokenVerifierOptions {
  /** The control plane's issuer URL; tokens with another `iss` fail. */
  readonly issuer: string;
  /** The control plane's public keys ({@link TokenSigningKeyRing.jwks}). */
  readonly jwks: JSONWebKeySet;
  /** Leeway for `exp`; default {@link DEFAULT_CLOCK_TOLERANCE_SECONDS}. */
  readonly clockToleranceSeconds?: number;
}

/**
 * Verifies service tokens against a JWKS document held in memory, with no network: what a
 * router runs for every scoring request when token auth is on. Swap the keys with
 * {@link ServiceTokenVerifier.updateJwks} when the control plane publishes new ones.
 */
export class ServiceTokenVerifier {
  readonly #issuer: string;
  readonly #clockTolerance: number;
  #keys: JWTVerifyGetKey;

  protected constructor(options: ServiceTokenVerifierOptions) {
    this.#issuer = options.issuer;
    this.#clockTolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
    this.#keys = localKeys(options.jwks);
  }

  /**
   * A verifier for `options.jwks`.
   * @throws InvalidAuthInputError when the JWKS is not a JSON Web Key Set.
   */
  static fromJwks(options: ServiceTokenVerifierOptions): ServiceTokenVerifier {
    return new ServiceTokenVerifier(options);
  }

  /** Replaces the public keys (e.g. after the control plane rotated). */
  updateJwks(jwks: JSONWebKeySet): void {
    this.#keys = localKeys(jwks);
  }

  /**
   * Checks signature, algorithm, issuer, audience (exactly `service`) and expiry at `now`.
   * @throws UnauthenticatedError when any check fails; `cause` holds jose's error.
   */
  async verify(
    token: string,
    options: { readonly service: ServiceRef; readonly now?: Date },
  ): Promise<ServiceTokenClaims> {
    try {
      const { payload, protectedHeader } = await jwtVerify(token, this.#keys, {
        algorithms: [SERVICE_TOKEN_ALGORITHM],
        issuer: this.#issuer,
        audience: serviceTokenAudience(options.service),
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: this.#clockTolerance,
        ...(options.now ? { currentDate: options.now } : {}),
      });
      return {
        issuer: this.#issuer,
        audience: serviceTokenAudience(options.service),
        subject: payload.sub ?? '',
        expiresAt: new Date((payload.exp ?? 0) * 1_000),
        tokenId: payload.jti,
        keyId: protectedHeader.kid,
      };
    } catch (cause) {
      throw new UnauthenticatedError('invalid service token', { cause });
    }
  }
}

/** Options of {@link verifyServiceToken}. */
export interface VerifyServiceTokenOptions {
  readonly issuer: string;
  /** The public keys: a JWKS document, or the control plane's own ring. */
  readonly keys: JSONWebKeySet | TokenSigningKeyRing;
  readonly service: ServiceRef;
  readonly now?: Date;
  readonly clockToleranceSeconds?: number;
}

/**
 * One-shot form of {@link ServiceTokenVerifier.verify}; routers should keep a verifier instead.
 * @throws UnauthenticatedError when the token does not open `service`.
 */
export async function verifyServiceToken(
  token: string,
  options: VerifyServiceTokenOptions,
): Promise<ServiceTokenClaims> {
  const jwks = options.keys instanceof TokenSigningKeyRing ? options.keys.jwks() : options.keys;
  return ServiceTokenVerifier.fromJwks({
    issuer: options.issuer,
    jwks,
    ...(options.clockToleranceSeconds === undefined
      ? {}
      : { clockToleranceSeconds: options.clockToleranceSeconds }),
  }).verify(token, { service: options.service, ...(options.now ? { now: options.now } : {}) });
}

function localKeys(jwks: JSONWebKeySet): JWTVerifyGetKey {
  try {
    return createLocalJWKSet(jwks);
  } catch (cause) {
    throw new InvalidAuthInputError('not a JSON Web Key Set', { cause });
  }
}
