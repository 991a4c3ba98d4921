// Bearer tokens for a registry that answered `WWW-Authenticate: Bearer realm=…`: the
// distribution token protocol (GET the realm with service and scopes, Basic credentials when
// configured) and the Azure Container Registry exchange (Entra token → ACR refresh token → ACR
// access token).
import type * as AzureIdentity from '@azure/identity';
import { RegistryError } from '../errors.js';
import { errorSummary, send } from '../http.js';
import { isLoopbackRegistry } from '../reference.js';
import {
  credentialsHint,
  describeCredentials,
  type AcrRegistryCredentials,
  type BasicRegistryCredentials,
  type EntraTokenCredential,
} from './credentials.js';

/** Where to get a token, from the registry's challenge. */
export interface BearerChallenge {
  readonly realm: string;
  readonly service: string | undefined;
}

/** A token and when to stop using it (ms since the epoch). */
export interface TokenGrant {
  readonly token: string;
  readonly expiresAt: number;
}

/** One token request. */
export interface TokenRequest {
  readonly challenge: BearerChallenge;
  /** `repository:<name>:<actions>` scopes, sorted. */
  readonly scopes: readonly string[];
  /** The registry the token is for (`host[:port]`), for messages. */
  readonly registry: string;
  /** `workspace registry` / `global registry`, for messages. */
  readonly role: string;
  readonly repository: string | undefined;
  readonly signal: AbortSignal | undefined;
}

/** Fetches Bearer tokens for one registry's credentials. */
export interface TokenService {
  fetchToken(request: TokenRequest): Promise<TokenGrant>;
}

/** Settings shared by the token services. */
export interface TokenServiceOptions {
  readonly now: () => number;
  readonly timeoutMs: number;
}

/** Tokens without `expires_in` live 60 s (the distribution token specification's default). */
const DEFAULT_TOKEN_SECONDS = 60;

/**
 * When to stop using a token: its lifetime (`expires_in`, else the JWT's `exp - iat`, else 60 s)
 * counted from now rather than from the issuer's clock, less a margin so it is never sent just as
 * it expires.
 */
export function tokenExpiry(token: string, expiresIn: unknown, now: number): number {
  let seconds = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : undefined;
  if (seconds === undefined) {
    const claims = jwtClaims(token);
    if (
      typeof claims?.exp === 'number' &&
      typeof claims.iat === 'number' &&
      claims.exp > claims.iat
    ) {
      seconds = claims.exp - claims.iat;
    }
  }
  const lifetime = (seconds ?? DEFAULT_TOKEN_SECONDS) * 1000;
  return now + lifetime - Math.min(30_000, lifetime / 10);
}

function jwtClaims(token: string): { exp?: unknown; iat?: unknown } | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as object;
  } catch {
    return undefined;
  }
}

// Credentials go to a token service only over TLS, or to a loopback address.
function mayCarryCredentials(url: URL): boolean {
  return url.protocol === 'https:' || isLoopbackRegistry(url.host);
}

function realmUrl(request: TokenRequest): URL {
  try {
    return new URL(request.challenge.realm);
  } catch (error) {
    throw new RegistryError(
      `${request.role} ${request.registry} named a token realm that is not a URL: ${JSON.stringify(request.challenge.realm)}`,
      {
        code: 'RegistryRequestFailed',
        registry: request.registry,
        repository: request.repository,
        cause: error,
      },
    );
  }
}

async function readToken(
  response: Response,
  request: TokenRequest,
  url: URL,
  fields: readonly string[],
  who: string,
  hint: string,
): Promise<{ token: string; body: Record<string, unknown> }> {
  const what = `token service ${url.host} (${url.origin}${url.pathname}) for ${request.role} ${request.registry}`;
  const scope = request.scopes.length === 0 ? '' : ` scope ${request.scopes.join(' ')}`;
  if (response.status === 401 || response.status === 403) {
    const summary = await errorSummary(response);
    throw new RegistryError(
      `${what} answered ${response.status} for${scope || ' the registry'} ${who}${summary ? ` (${summary})` : ''}: ${hint}`,
      {
        code: response.status === 401 ? 'RegistryUnauthorized' : 'RegistryForbidden',
        registry: url.host,
        repository: request.repository,
        status: response.status,
      },
    );
  }
  if (!response.ok) {
    const summary = await errorSummary(response);
    throw new RegistryError(`${what} answered ${response.status}${summary ? `: ${summary}` : ''}`, {
      code:
        response.status === 429 || response.status >= 500
          ? 'RegistryUnavailable'
          : 'RegistryRequestFailed',
      registry: url.host,
      repository: request.repository,
      status: response.status,
    });
  }
  let body: Record<string, unknown>;
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch (error) {
    throw new RegistryError(`${what} answered ${response.status} without a JSON body`, {
      code: 'RegistryRequestFailed',
      registry: url.host,
      repository: request.repository,
      status: response.status,
      cause: error,
    });
  }
  for (const field of fields) {
    const token = body[field];
    if (typeof token === 'string' && token !== '') return { token, body };
  }
  throw new RegistryError(`${what} answered without ${fields.join(' or ')}`, {
    code: 'RegistryRequestFailed',
    registry: url.host,
    repository: request.repository,
    status: response.status,
  });
}

/**
 * The distribution token protocol: `GET <realm>?service=…&scope=…` (one `scope` per scope), with
 * Basic credentials when there are any; the answer's `token` (or `access_token`).
 */
export function distributionTokenService(
  credentials: BasicRegistryCredentials | undefined,
  options: TokenServiceOptions,
): TokenService {
  return {
    async fetchToken(request) {
      const url = realmUrl(request);
      if (request.challenge.service !== undefined)
        url.searchParams.set('service', request.challenge.service);
      for (const scope of request.scopes) url.searchParams.append('scope', scope);
      const headers: Record<string, string> = { accept: 'application/json' };
      if (credentials) {
        if (!mayCarryCredentials(url)) {
          throw new RegistryError(
            `${request.role} ${request.registry} sends clients for tokens to ${url.origin} over plain HTTP; skiff does not send credentials there`,
            {
              code: 'RegistryRequestFailed',
              registry: request.registry,
              repository: request.repository,
            },
          );
        }
        url.searchParams.set('account', credentials.username);
        const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString(
          'base64',
        );
        headers['authorization'] = `Basic ${basic}`;
      }
      const context = {
        role: 'token service',
        registry: url.host,
        repository: request.repository,
        operation: `token for ${request.registry}`,
      };
      const response = await send(
        url.href,
        { method: 'GET', headers, timeoutMs: options.timeoutMs, signal: request.signal },
        context,
      );
      const { token, body } = await readToken(
        response,
        request,
        url,
        ['token', 'access_token'],
        describeCredentials(credentials),
        credentialsHint(credentials),
      );
      return { token, expiresAt: tokenExpiry(token, body['expires_in'], options.now()) };
    },
  };
}

/** Entra scope of tokens ACR accepts in `/oauth2/exchange`. */
export const ACR_ENTRA_SCOPE = 'https://containerregistry.azure.net/.default';

/**
 * Azure Container Registry's token flow (Azure/acr docs, "AAD-OAuth"): an Entra access token is
 * exchanged at `POST <registry>/oauth2/exchange` (`grant_type=access_token`) for an ACR refresh
 * token, kept until it expires; each scope set then gets an access token at
 * `POST <realm>` (`grant_type=refresh_token`, normally `<registry>/oauth2/token`). A refused
 * refresh token is exchanged again once.
 */
export function acrTokenService(
  credentials: AcrRegistryCredentials,
  options: TokenServiceOptions & {
    /** Creates the default credential; the real one imports `@azure/identity` lazily. */
    readonly createDefaultCredential?: (
      credentials: AcrRegistryCredentials,
    ) => Promise<EntraTokenCredential>;
  },
): TokenService {
  let credential: Promise<EntraTokenCredential> | undefined;
  let refresh: { origin: string; grant: Promise<TokenGrant> } | undefined;
  const identity = (): Promise<EntraTokenCredential> => {
    if (credentials.credential) return Promise.resolve(credentials.credential);
    credential ??= (options.createDefaultCredential ?? createDefaultAzureCredential)(credentials);
    return credential;
  };

  const exchange = async (request: TokenRequest, url: URL): Promise<TokenGrant> => {
    const entra = await (
      await identity()
    ).getToken(
      credentials.entraScope ?? ACR_ENTRA_SCOPE,
      credentials.tenantId === undefined ? {} : { tenantId: credentials.tenantId },
    );
    if (!entra) {
      throw new RegistryError(
        `the Entra ID credential returned no token for ${credentials.entraScope ?? ACR_ENTRA_SCOPE} (needed by ${request.role} ${request.registry})`,
        {
          code: 'RegistryUnauthorized',
          registry: request.registry,
          repository: request.repository,
        },
      );
    }
    const exchangeUrl = new URL('/oauth2/exchange', url);
    const form = new URLSearchParams({
      grant_type: 'access_token',
      service: request.challenge.service ?? request.registry,
      access_token: entra.token,
    });
    if (credentials.tenantId !== undefined) form.set('tenant', credentials.tenantId);
    const response = await post(exchangeUrl, form, request, 'ACR refresh token');
    const { token } = await readToken(
      response,
      request,
      exchangeUrl,
      ['refresh_token'],
      describeCredentials(credentials),
      credentialsHint(credentials),
    );
    // The refresh token's own lifetime when it says (ACR's are JWTs), never beyond the Entra token's.
    const claims = jwtClaims(token);
    const own =
      typeof claims?.exp === 'number' && typeof claims.iat === 'number'
        ? tokenExpiry(token, undefined, options.now())
        : Number.POSITIVE_INFINITY;
    return { token, expiresAt: Math.min(own, entra.expiresOnTimestamp) };
  };

  const refreshToken = (request: TokenRequest, url: URL): Promise<TokenGrant> => {
    const current = refresh;
    if (current && current.origin === url.origin) {
      return current.grant.then((grant) =>
        grant.expiresAt > options.now() ? grant : refreshAgain(request, url),
      );
    }
    return refreshAgain(request, url);
  };
  const refreshAgain = (request: TokenRequest, url: URL): Promise<TokenGrant> => {
    const grant = exchange(request, url);
    refresh = { origin: url.origin, grant };
    grant.catch(() => {
      if (refresh?.grant === grant) refresh = undefined;
    });
    return grant;
  };

  const post = (url: URL, form: URLSearchParams, request: TokenRequest, what: string) => {
    if (!mayCarryCredentials(url)) {
      throw new RegistryError(
        `${request.role} ${request.registry} names ${url.origin} for ACR tokens over plain HTTP; skiff does not send tokens there`,
        {
          code: 'RegistryRequestFailed',
          registry: request.registry,
          repository: request.repository,
        },
      );
    }
    return send(
      url.href,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        timeoutMs: options.timeoutMs,
        signal: request.signal,
      },
      {
        role: 'token service',
        registry: url.host,
        repository: request.repository,
        operation: what,
      },
    );
  };

  return {
    async fetchToken(request) {
      const url = realmUrl(request);
      for (let attempt = 0; ; attempt++) {
        const refreshGrant = await refreshToken(request, url);
        const form = new URLSearchParams({
          grant_type: 'refresh_token',
          service: request.challenge.service ?? request.registry,
          refresh_token: refreshGrant.token,
        });
        for (const scope of request.scopes) form.append('scope', scope);
        const response = await post(url, form, request, 'ACR access token');
        if (response.status === 401 && attempt === 0) {
          await response.body?.cancel();
          refresh = undefined;
          continue;
        }
        const { token, body } = await readToken(
          response,
          request,
          url,
          ['access_token', 'token'],
          'with the ACR refresh token',
          credentialsHint(credentials),
        );
        return { token, expiresAt: tokenExpiry(token, body['expires_in'], options.now()) };
      }
    },
  };
}

/**
 * Imports `@azure/identity` only now — when an ACR registry without an explicit credential is
 * first asked for a token — and creates its `DefaultAzureCredential`.
 */
async function createDefaultAzureCredential(
  credentials: AcrRegistryCredentials,
): Promise<EntraTokenCredential> {
  let identity: typeof AzureIdentity;
  try {
    identity = await import('@azure/identity');
  } catch (error) {
    throw new RegistryError(
      'ACR credentials are configured but @azure/identity cannot be loaded; install it next to skiff',
      { code: 'RegistryUnauthorized', registry: 'login.microsoftonline.com', cause: error },
    );
  }
  return new identity.DefaultAzureCredential(
    credentials.managedIdentityClientId === undefined
      ? {}
      : { managedIdentityClientId: credentials.managedIdentityClientId },
  );
}
