// Authentication against real docker-registry processes: htpasswd (Basic), token auth (Bearer,
// tokens from the loopback token server), and ACR's token exchange against the same token
// server's stand-in endpoints. Nothing here creates an @azure/identity credential.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from '@skiff/testing';
import type { EntraTokenCredential } from './auth/credentials.js';
import { copyImage } from './copy.js';
import { RegistryError } from './errors.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import type { RegistryEndpoint } from './reference.js';
import { createTestImage, pushTestImage } from './test-support/test-image.js';
import { startTokenServer, type TokenServer } from './test-support/token-server.js';

const ENTRA_STAND_IN_TOKEN = 'entra-stand-in-token';

let tokens: TokenServer;
let basicRegistry: TestRegistry;
let tokenRegistry: TestRegistry;
let acrRegistry: TestRegistry;

beforeAll(async () => {
  tokens = await startTokenServer({
    users: { bob: 'bobs-password' },
    entraToken: ENTRA_STAND_IN_TOKEN,
  });
  const tokenAuth = (realm: string) =>
    ({
      kind: 'token',
      realm,
      service: tokens.service,
      issuer: tokens.issuer,
      rootCertificatePem: tokens.rootCertificatePem,
    }) as const;
  [basicRegistry, tokenRegistry, acrRegistry] = await Promise.all([
    startTestRegistry({
      auth: { kind: 'htpasswd', users: { alice: 'correct horse battery staple' } },
    }),
    startTestRegistry({ auth: tokenAuth(tokens.realm) }),
    startTestRegistry({ auth: tokenAuth(tokens.acrRealm) }),
  ]);
});
afterAll(async () => {
  await Promise.all([basicRegistry?.stop(), tokenRegistry?.stop(), acrRegistry?.stop()]);
  await tokens?.close();
});

let counter = 0;
const repository = (name: string) => `skiff-test/${name}-${process.pid}-${++counter}`;

const connect = (
  registry: TestRegistry,
  endpoint: Omit<RegistryEndpoint, 'registry'>,
  options: RegistryClientOptions = {},
) =>
  RegistryClient.connect(
    { registry: registry.registry, ...endpoint },
    { role: 'workspace registry', ...options },
  );

async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RegistryError);
  return error as RegistryError;
}

/** A stand-in Entra credential: hands out a fixed token and records the scopes asked for. */
function standInEntraCredential(
  token = ENTRA_STAND_IN_TOKEN,
): EntraTokenCredential & { scopes: string[] } {
  const scopes: string[] = [];
  return {
    scopes,
    getToken(scope) {
      scopes.push(...(Array.isArray(scope) ? scope : [scope]));
      return Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3_600_000 });
    },
  };
}

describe('Basic authentication (htpasswd)', () => {
  it('pushes and finds an image with the right username and password', async () => {
    const client = await connect(basicRegistry, {
      credentials: { kind: 'basic', username: 'alice', password: 'correct horse battery staple' },
    });
    expect(client.authScheme).toBe('basic');
    const repo = repository('basic');
    const image = createTestImage();
    await pushTestImage(client, repo, 'v1-a', image);
    expect((await client.headManifest(repo, 'v1-a'))?.digest).toBe(image.digest);
  });

  it('says which registry, repository and user a wrong password was refused for', async () => {
    const client = await connect(basicRegistry, {
      credentials: { kind: 'basic', username: 'alice', password: 'wrong' },
    });
    const repo = repository('basic');
    const error = await rejection(client.headManifest(repo, 'v1-a'));
    expect(error).toMatchObject({
      code: 'RegistryUnauthorized',
      registry: basicRegistry.registry,
      repository: repo,
      status: 401,
    });
    expect(error.message).toBe(
      `RegistryUnauthorized: workspace registry ${basicRegistry.registry} answered 401 for repository ${repo} (HEAD manifest v1-a) as user "alice": check the registry's username and password`,
    );
    expect(error.kind).toBe('failed-precondition');
  });

  it('asks for credentials when none are configured', async () => {
    const client = await connect(basicRegistry, {});
    const error = await rejection(client.headManifest(repository('basic'), 'v1-a'));
    expect(error.code).toBe('RegistryUnauthorized');
    expect(error.message).toMatch(
      /answered 401 .* without credentials: configure credentials for this registry$/,
    );
  });
});

describe('Bearer token authentication', () => {
  const bob = { kind: 'basic', username: 'bob', password: 'bobs-password' } as const;
  const tokenRequests = (repo: string) =>
    tokens.requests.filter((r) => r.path === '/token' && r.scopes.some((s) => s.includes(repo)));

  it('gets a token per scope from the realm with Basic credentials and reuses it until it expires', async () => {
    let now = Date.now();
    const client = await connect(tokenRegistry, { credentials: bob }, { now: () => now });
    expect(client.authScheme).toBe('bearer');
    const repo = repository('bearer');
    const image = createTestImage();
    await pushTestImage(client, repo, 'v1-a', image);
    // The push checks for each blob first (pull), then uploads (pull,push): one token each.
    expect(tokenRequests(repo).map((r) => [r.user, r.scopes.join(' ')])).toEqual([
      ['bob', `repository:${repo}:pull`],
      ['bob', `repository:${repo}:pull,push`],
    ]);

    expect((await client.headManifest(repo, 'v1-a'))?.digest).toBe(image.digest);
    await client.hasBlob(repo, image.digest);
    expect(tokenRequests(repo).length).toBe(2);

    now += 300_000; // the tokens' expires_in
    await client.headManifest(repo, 'v1-a');
    expect(tokenRequests(repo).length).toBe(3);
  });

  it('mounts across repositories with a token for both scopes', async () => {
    const client = await connect(tokenRegistry, { credentials: bob });
    const from = repository('bearer-a-source');
    const to = repository('bearer-b-target');
    await pushTestImage(client, from, 'v1-m', createTestImage());
    const result = await copyImage(
      { client, repository: from },
      { client, repository: to },
      'v1-m',
    );
    expect(result.stats.blobsMounted).toBe(2);
    // A mount needs pull on the source repository too: one token carries both scopes, listed in
    // canonical order (the mount request names the target first).
    const both = [`repository:${from}:pull`, `repository:${to}:pull,push`].sort().join(' ');
    expect(tokens.requests.map((r) => r.scopes.join(' '))).toContain(both);
  });

  it('names the token service and the user when the token service refuses the password', async () => {
    const client = await connect(tokenRegistry, { credentials: { ...bob, password: 'wrong' } });
    const repo = repository('bearer');
    const error = await rejection(client.headManifest(repo, 'v1-a'));
    const service = new URL(tokens.origin).host;
    expect(error).toMatchObject({ code: 'RegistryUnauthorized', registry: service, status: 401 });
    expect(error.message).toBe(
      `RegistryUnauthorized: token service ${service} (${tokens.realm}) for workspace registry ${tokenRegistry.registry} answered 401 for scope repository:${repo}:pull as user "bob" (UNAUTHORIZED: authentication required): check the registry's username and password`,
    );
  });
});

describe('Azure Container Registry token exchange (stand-in token server)', () => {
  it('exchanges the Entra token once for a refresh token, then gets access tokens per scope', async () => {
    const credential = standInEntraCredential();
    const client = await connect(acrRegistry, { credentials: { kind: 'acr', credential } });
    const repo = repository('acr');
    const image = createTestImage();
    await pushTestImage(client, repo, 'v1-a', image);
    expect((await client.headManifest(repo, 'v1-a'))?.digest).toBe(image.digest);

    expect(credential.scopes).toEqual(['https://containerregistry.azure.net/.default']);
    const mine = tokens.requests.filter(
      (r) => r.path === '/oauth2/exchange' || r.scopes.some((s) => s.includes(repo)),
    );
    expect(mine.map((r) => [r.path, r.status, r.scopes.join(' ')])).toEqual([
      ['/oauth2/exchange', 200, ''],
      ['/oauth2/token', 200, `repository:${repo}:pull`],
      ['/oauth2/token', 200, `repository:${repo}:pull,push`],
    ]);
  });

  it('creates the default credential only when the registry first asks for a token', async () => {
    let created = 0;
    const client = await connect(
      acrRegistry,
      { credentials: { kind: 'acr' } },
      {
        createDefaultCredential: () => {
          created += 1;
          return Promise.resolve(standInEntraCredential());
        },
      },
    );
    expect(created).toBe(0);
    const repo = repository('acr');
    expect(await client.headManifest(repo, 'v1-none')).toBeUndefined();
    await client.headManifest(repo, 'v1-none-either');
    expect(created).toBe(1);
  });

  it('says that the exchange refused the Entra token', async () => {
    const client = await connect(acrRegistry, {
      credentials: { kind: 'acr', credential: standInEntraCredential('not-accepted') },
    });
    const error = await rejection(client.headManifest(repository('acr'), 'v1-a'));
    const service = new URL(tokens.origin).host;
    expect(error.code).toBe('RegistryUnauthorized');
    expect(error.message).toContain(
      `RegistryUnauthorized: token service ${service} (${tokens.origin}/oauth2/exchange) for workspace registry ${acrRegistry.registry} answered 401`,
    );
    expect(error.message).toContain('with an Entra ID identity (ACR token exchange)');
  });
});
