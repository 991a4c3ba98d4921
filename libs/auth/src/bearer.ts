import { type Caller } from './caller.js';
import { type EntraIdAuthenticator } from './entra-id.js';
import { UnauthenticatedError } from '@skiff/errors';
import {
  authenticateTeamCredential,
  looksLikeTeamCredential,
  type CredentialResolver,
} from './team-credentials.js';

/** Resolves the value of an `authorization` header to a caller. */
export interface BearerAuthenticator {
  /**
   * @param authorization - the header value, e.g. `Bearer skf_...`; `undefined` when absent.
   * @throws UnauthenticatedError when the caller cannot be identified.
   */
  authenticate(authorization: string | undefined): Promise<Caller>;
}

/** Options of {@link createBearerAuthenticator}. */
export interface BearerAuthenticatorOptions {
  /** Where team API credentials are looked up. */
  readonly credentials: CredentialResolver;
  /** Accept Entra ID access tokens too; default off (nothing Azure is contacted). */
  readonly entraId?: EntraIdAuthenticator | undefined;
}

/**
 * The gRPC API's authenticator: `Bearer skf_...` is a team API credential; any other bearer
 * token is an Entra ID access token when Entra ID is configured, and rejected otherwise.
 */
export function createBearerAuthenticator(
  options: BearerAuthenticatorOptions,
): BearerAuthenticator {
  return {
    async authenticate(authorization) {
      const token = bearerToken(authorization);
      if (looksLikeTeamCredential(token)) {
        return authenticateTeamCredential(token, options.credentials);
      }
      if (options.entraId) return options.entraId.authenticate(token);
      throw new UnauthenticatedError('invalid credentials', {
        cause: new Error('not a team credential, and Entra ID is not configured'),
      });
    },
  };
}

/**
 * The token of an `Authorization: Bearer <token>` value (scheme case-insensitive, RFC 7235).
 * @throws UnauthenticatedError when absent or not a bearer credential.
 */
export function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization.trim() === '') {
    throw new UnauthenticatedError('missing credentials');
  }
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  if (!match?.[1]) {
    throw new UnauthenticatedError('invalid credentials', {
      cause: new Error('authorization is not of the form "Bearer <token>"'),
    });
  }
  return match[1];
}
