// A token service on loopback for a docker-registry configured with `auth.token`: it issues the
// JWTs the registry verifies (ES256, `x5c` chaining to the registry's rootcertbundle, `access`
// claims) through two front doors —
//   GET  /token                 the distribution token protocol, Basic credentials checked;
//   POST /oauth2/exchange       a stand-in for ACR's: an "Entra" token → a refresh token;
//   POST /oauth2/token          a stand-in for ACR's: a refresh token + scopes → an access token.
// Every request is recorded, so tests can count token fetches.
import { randomBytes, randomUUID, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSigningCertificate } from './certificate.js';

/** One request the token server received. */
export interface TokenServerRequest {
  readonly method: string;
  readonly path: string;
  /** Scopes asked for (query or form `scope`, each possibly space-separated). */
  readonly scopes: readonly string[];
  /** Basic user name, when Basic credentials were sent. */
  readonly user: string | undefined;
  /** The HTTP status answered. */
  readonly status: number;
}

/** Options of {@link startTokenServer}. */
export interface TokenServerOptions {
  /** Basic users allowed at GET /token; anonymous requests are refused when any are set. */
  readonly users?: Readonly<Record<string, string>>;
  /** The Entra access token the ACR stand-in accepts at /oauth2/exchange. */
  readonly entraToken?: string;
  /** `expires_in` of issued tokens, seconds; default 300. */
  readonly expiresIn?: number;
}

/** A running token server. */
export interface TokenServer {
  readonly origin: string;
  /** The distribution realm: `<origin>/token`. */
  readonly realm: string;
  /** The ACR-style realm: `<origin>/oauth2/token`. */
  readonly acrRealm: string;
  readonly service: string;
  readonly issuer: string;
  readonly rootCertificatePem: string;
  readonly requests: TokenServerRequest[];
  close(): Promise<void>;
}

const base64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

/** Starts the token server on a kernel-chosen loopback port. */
export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const certificate = createSigningCertificate();
  const service = 'skiff-test-registry';
  const issuer = 'skiff-test-token-service';
  const refreshTokens = new Set<string>();
  const requests: TokenServerRequest[] = [];
  const expiresIn = options.expiresIn ?? 300;

  const issue = (scopes: readonly string[], subject: string): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((scope) => {
      const parts = scope.split(':');
      if (parts.length < 3) return [];
      const actions = parts
        .pop()!
        .split(',')
        .filter((a) => a !== '');
      const type = parts.shift()!;
      return [{ type, name: parts.join(':'), actions }];
    });
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certificate.der.toString('base64')] };
    // distribution 2.8 reads `aud` as one string and allows no clock leeway.
    const claims = {
      iss: issuer,
      sub: subject,
      aud: service,
      exp: now + expiresIn,
      nbf: now - 60,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), {
      key: certificate.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${base64url(signature)}`;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    let form = new URLSearchParams();
    if (request.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    }
    const params = request.method === 'POST' ? form : url.searchParams;
    const scopes = params
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter((s) => s !== '');
    const basic = /^Basic (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const [user, password] = basic
      ? splitOnce(Buffer.from(basic, 'base64').toString('utf8'))
      : [undefined, undefined];
    const answer = (status: number, body: object) => {
      requests.push({ method: request.method ?? '', path: url.pathname, scopes, user, status });
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const denied = (status = 401) =>
      answer(status, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });

    if (request.method === 'GET' && url.pathname === '/token') {
      const users = options.users ?? {};
      const known = Object.keys(users).length > 0;
      if (known && (user === undefined || users[user] !== password)) return denied();
      if (params.get('service') !== service)
        return answer(400, { errors: [{ code: 'DENIED', message: 'unknown service' }] });
      const token = issue(scopes, user ?? 'anonymous');
      return answer(200, {
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      });
    }
    if (request.method === 'POST' && url.pathname === '/oauth2/exchange') {
      if (
        options.entraToken === undefined ||
        params.get('grant_type') !== 'access_token' ||
        params.get('access_token') !== options.entraToken ||
        params.get('service') !== service
      ) {
        return denied();
      }
      const refreshToken = randomBytes(24).toString('hex');
      refreshTokens.add(refreshToken);
      return answer(200, { refresh_token: refreshToken });
    }
    if (request.method === 'POST' && url.pathname === '/oauth2/token') {
      if (
        params.get('grant_type') !== 'refresh_token' ||
        !refreshTokens.has(params.get('refresh_token') ?? '')
      ) {
        return denied();
      }
      return answer(200, { access_token: issue(scopes, 'acr-identity') });
    }
    answer(404, { errors: [{ code: 'NOT_FOUND', message: url.pathname }] });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('token server has no port');
  const origin = `http://127.0.0.1:${address.port}`;
  return {
    origin,
    realm: `${origin}/token`,
    acrRealm: `${origin}/oauth2/token`,
    service,
    issuer,
    rootCertificatePem: certificate.pem,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function splitOnce(text: string): [string, string] {
  const colon = text.indexOf(':');
  return colon === -1 ? [text, ''] : [text.slice(0, colon), text.slice(colon + 1)];
}
