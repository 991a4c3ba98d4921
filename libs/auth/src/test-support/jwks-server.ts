import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

/** An Entra-ID-like token issuer for tests: an RS256 key and its JWKS served on 127.0.0.1. */
export interface LocalJwksIssuer {
  /** `http://127.0.0.1:<port>/discovery/v2.0/keys`. */
  readonly jwksUri: string;
  /** How many times the JWKS was fetched. */
  readonly fetches: () => number;
  /** Signs `claims` with the served key (or `signWith` when given). */
  sign(claims: JWTPayload, signWith?: CryptoKey): Promise<string>;
  close(): Promise<void>;
}

/** Starts a JWKS server on a kernel-assigned loopback port. */
export async function startLocalJwksIssuer(): Promise<LocalJwksIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = 'test-key-1';
  const body = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, use: 'sig' }] });
  let fetches = 0;
  const server: Server = createServer((request, response) => {
    if (request.url !== '/discovery/v2.0/keys') {
      response.writeHead(404).end();
      return;
    }
    fetches += 1;
    response.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    jwksUri: `http://127.0.0.1:${port}/discovery/v2.0/keys`,
    fetches: () => fetches,
    sign: (claims, signWith) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .sign(signWith ?? privateKey),
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
