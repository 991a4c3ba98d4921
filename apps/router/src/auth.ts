// Caller authentication per service: key (SHA-256 of the presented key against the table's
// digests, constant time), token (JWT checked locally against the table's JWKS), or none.
import { createHash, timingSafeEqual } from 'node:crypto';
import { jwtVerify } from 'jose';
import { DEFAULT_CLOCK_TOLERANCE_SECONDS, SERVICE_TOKEN_ALGORITHM } from '@skiff/auth';
import type { AuthFailureLimiter } from './auth-limiter.js';
import type { ServiceEndpoint, TokenKeys } from './table.js';

/** The outcome of {@link ServiceAuthenticator.check}. */
export type AuthResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 401; readonly reason: string }
  | { readonly ok: false; readonly status: 429; readonly retryAfterSeconds: number };

/** Presented secrets longer than this are refused without hashing. */
const MAX_CREDENTIAL_LENGTH = 8_192;

/** Checks the `Authorization` header of scoring requests. */
export class ServiceAuthenticator {
  constructor(
    private readonly limiter: AuthFailureLimiter,
    private readonly clockToleranceSeconds = DEFAULT_CLOCK_TOLERANCE_SECONDS,
  ) {}

  /** Whether `authorization` opens `endpoint`; failures count against `clientAddress`. */
  async check(
    endpoint: ServiceEndpoint,
    tokens: TokenKeys,
    authorization: string | undefined,
    clientAddress: string,
  ): Promise<AuthResult> {
    const { auth } = endpoint;
    if (auth.mode === 'none') return { ok: true };
    const blocked = this.limiter.blockedFor(clientAddress);
    if (blocked > 0) return { ok: false, status: 429, retryAfterSeconds: blocked };
    const reason = await this.#reject(endpoint, tokens, bearer(authorization));
    if (reason === undefined) return { ok: true };
    this.limiter.fail(clientAddress);
    return { ok: false, status: 401, reason };
  }

  /** Why the credential does not open the service, or undefined when it does. */
  async #reject(
    endpoint: ServiceEndpoint,
    tokens: TokenKeys,
    credential: string | undefined,
  ): Promise<string | undefined> {
    if (credential === undefined) return 'missing bearer credential';
    if (credential.length > MAX_CREDENTIAL_LENGTH) return 'credential too long';
    const { auth } = endpoint;
    if (auth.mode === 'key') {
      return keyMatches(credential, auth.digests) ? undefined : 'wrong key';
    }
    if (auth.mode !== 'token') return undefined;
    if (!tokens.keys) return 'no token keys in the routing table';
    try {
      await jwtVerify(credential, tokens.keys, {
        algorithms: [SERVICE_TOKEN_ALGORITHM],
        issuer: tokens.issuer,
        audience: auth.audience,
        requiredClaims: ['exp'],
        clockTolerance: this.clockToleranceSeconds,
      });
      return undefined;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return `invalid token${typeof code === 'string' ? ` (${code})` : ''}`;
    }
  }
}

/** The credential of `Authorization: Bearer <credential>`. */
function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** Compares against every digest (no early exit), each in constant time. */
function keyMatches(presented: string, digests: readonly Buffer[]): boolean {
  const actual = createHash('sha256').update(presented, 'utf8').digest();
  let matched = false;
  for (const expected of digests) {
    if (timingSafeEqual(actual, expected)) matched = true;
  }
  return matched;
}
