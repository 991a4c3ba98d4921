import {
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBearerAuthenticator } from './bearer.js';
import { EntraIdAuthenticator } from './entra-id.js';
import { UnauthenticatedError } from '@skiff/errors';
import { InvalidAuthInputError, SecretUnsealError } from './errors.js';
import {
  callerOf,
  createAuthInterceptor,
  grpcStatusOf,
  requireCaller,
  type AuthRejection,
  type MethodPermissions,
} from './grpc-interceptor.js';
import {
  InMemoryCredentialStore,
  issueTeamCredential,
  type CredentialResolver,
} from './team-credentials.js';
import { startLocalJwksIssuer, type LocalJwksIssuer } from './test-support/jwks-server.js';
import {
  PROBE,
  ProbeClient,
  startProbeServer,
  type ProbeServer,
} from './test-support/probe-service.js';

const methodPermissions: MethodPermissions = {
  [PROBE.read]: 'service:read',
  [PROBE.deploy]: 'service:deploy',
  [PROBE.watch]: 'service:logs',
};

function echoCaller(
  call: ServerUnaryCall<unknown, unknown>,
  callback: sendUnaryData<unknown>,
): void {
  callback(null, {
    caller: callerOf(call) ?? null,
    authorization: call.metadata.get('authorization'),
  });
}

const implementation = {
  Read: echoCaller,
  Deploy: echoCaller,
  Unmapped: echoCaller,
  Health: echoCaller,
  Watch: (call: ServerWritableStream<unknown, unknown>) => {
    const caller = requireCaller(call);
    call.write({ line: 1, principal: caller.principal });
    call.write({ line: 2 });
    call.end();
  },
};

const bearer = (token: string): string => `Bearer ${token}`;

describe('createAuthInterceptor on a real grpc-js server', () => {
  const store = new InMemoryCredentialStore();
  const reader = issueTeamCredential({ workspace: 'team-a', role: 'reader' });
  const deployer = issueTeamCredential({ workspace: 'team-a', role: 'deployer' });
  const admin = issueTeamCredential({ workspace: '*', role: 'admin' });
  const revoked = issueTeamCredential({ workspace: 'team-a', role: 'admin' });
  const rejections: AuthRejection[] = [];
  let server: ProbeServer;
  let client: ProbeClient;

  beforeAll(async () => {
    for (const issued of [reader, deployer, admin, revoked]) store.put(issued.credential);
    store.revoke(revoked.credential.id);
    const interceptor = createAuthInterceptor({
      authenticator: createBearerAuthenticator({ credentials: store }),
      methodPermissions,
      publicMethods: [PROBE.health],
      onRejected: (rejection) => rejections.push(rejection),
    });
    server = await startProbeServer([interceptor], implementation);
    client = new ProbeClient(server.address);
  });

  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('answers UNAUTHENTICATED without a credential', async () => {
    await expect(client.unary(PROBE.read)).resolves.toEqual({
      ok: false,
      code: status.UNAUTHENTICATED,
      details: 'missing credentials',
    });
  });

  it.each([
    [
      'an unknown team credential',
      bearer(issueTeamCredential({ workspace: 'team-a', role: 'admin' }).token),
    ],
    ['a malformed team credential', bearer('skf_123_abc')],
    ['a JWT while Entra ID is off', bearer('eyJhbGciOiJSUzI1NiJ9.e30.c2ln')],
    ['another scheme', `Basic ${Buffer.from('a:b').toString('base64')}`],
  ])('answers UNAUTHENTICATED for %s', async (_what, authorization) => {
    const result = await client.unary(PROBE.read, authorization);
    expect(result).toMatchObject({ ok: false, code: status.UNAUTHENTICATED });
  });

  it('answers UNAUTHENTICATED for a revoked credential, without saying why', async () => {
    const before = rejections.length;
    await expect(client.unary(PROBE.read, bearer(revoked.token))).resolves.toEqual({
      ok: false,
      code: status.UNAUTHENTICATED,
      details: 'invalid credentials',
    });
    const rejection = rejections[before];
    expect(rejection).toMatchObject({ method: PROBE.read, code: status.UNAUTHENTICATED });
    expect((rejection?.error as Error).cause).toMatchObject({
      message: expect.stringMatching(/revoked/),
    });
  });

  it('answers PERMISSION_DENIED when the role lacks the permission', async () => {
    const before = rejections.length;
    await expect(client.unary(PROBE.deploy, bearer(reader.token))).resolves.toEqual({
      ok: false,
      code: status.PERMISSION_DENIED,
      details: "role 'reader' lacks permission 'service:deploy'",
    });
    expect(rejections[before]?.caller?.principal).toBe(reader.credential.id);
  });

  it('runs the handler for the right role and hands it the caller, minus the credential', async () => {
    for (const [issued, path] of [
      [reader, PROBE.read],
      [deployer, PROBE.deploy],
      [admin, PROBE.deploy],
    ] as const) {
      await expect(client.unary(path, bearer(issued.token))).resolves.toEqual({
        ok: true,
        value: {
          caller: {
            via: 'team-credential',
            principal: issued.credential.id,
            workspace: issued.credential.workspace,
            role: issued.credential.role,
          },
          authorization: [],
        },
      });
    }
  });

  it('denies a method missing from the map, even to an admin (fail closed)', async () => {
    await expect(client.unary(PROBE.unmapped, bearer(admin.token))).resolves.toEqual({
      ok: false,
      code: status.PERMISSION_DENIED,
      details: `method ${PROBE.unmapped} is not allowed`,
    });
  });

  it('lets public methods through without a caller', async () => {
    await expect(client.unary(PROBE.health)).resolves.toEqual({
      ok: true,
      value: { caller: null, authorization: [] },
    });
  });

  it('guards server-streaming methods the same way', async () => {
    await expect(client.stream(PROBE.watch)).resolves.toMatchObject({
      ok: false,
      code: status.UNAUTHENTICATED,
    });
    await expect(client.stream(PROBE.watch, bearer(reader.token))).resolves.toEqual({
      ok: true,
      value: [{ line: 1, principal: reader.credential.id }, { line: 2 }],
    });
  });
});

describe('createAuthInterceptor edge cases', () => {
  it('answers UNAVAILABLE when the credential store fails', async () => {
    const broken: CredentialResolver = {
      lookup: () => Promise.reject(new Error('redis is down')),
    };
    const issued = issueTeamCredential({ workspace: 'team-a', role: 'admin' });
    const rejections: AuthRejection[] = [];
    const server = await startProbeServer(
      [
        createAuthInterceptor({
          authenticator: createBearerAuthenticator({ credentials: broken }),
          methodPermissions,
          onRejected: (rejection) => rejections.push(rejection),
        }),
      ],
      implementation,
    );
    const client = new ProbeClient(server.address);
    try {
      await expect(client.unary(PROBE.read, bearer(issued.token))).resolves.toEqual({
        ok: false,
        code: status.UNAVAILABLE,
        details: 'authentication is unavailable',
      });
      expect(rejections[0]?.error).toMatchObject({ message: 'redis is down' });
    } finally {
      client.close();
      await server.close();
    }
  });

  it('rejects a map with an unknown permission or a malformed path', () => {
    const authenticator = createBearerAuthenticator({ credentials: new InMemoryCredentialStore() });
    expect(() =>
      createAuthInterceptor({
        authenticator,
        methodPermissions: { [PROBE.read]: 'service:everything' as 'service:read' },
      }),
    ).toThrow(/unknown permission/);
    expect(() =>
      createAuthInterceptor({ authenticator, methodPermissions: { Read: 'service:read' } }),
    ).toThrow(/full method path/);
  });

  it('maps domain errors by kind and hides anything else', () => {
    expect(grpcStatusOf(new SecretUnsealError('master key gone'))).toEqual({
      code: status.FAILED_PRECONDITION,
      details: 'master key gone',
    });
    expect(grpcStatusOf(new InvalidAuthInputError('bad'))).toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
    expect(grpcStatusOf(new TypeError('secret internals'))).toEqual({
      code: status.UNAVAILABLE,
      details: 'authentication is unavailable',
    });
  });

  it('gives handlers without the interceptor no caller', () => {
    const call = { metadata: new (class {})() } as unknown as ServerUnaryCall<unknown, unknown>;
    expect(callerOf(call)).toBeUndefined();
    expect(() => requireCaller(call)).toThrow(UnauthenticatedError);
  });

  describe('with Entra ID configured', () => {
    let issuer: LocalJwksIssuer;
    beforeAll(async () => {
      issuer = await startLocalJwksIssuer();
    });
    afterAll(async () => {
      await issuer.close();
    });

    it('accepts a mapped Entra ID access token next to team credentials', async () => {
      const tenant = '11111111-1111-1111-1111-111111111111';
      const iss = `https://login.microsoftonline.com/${tenant}/v2.0`;
      const entraId = EntraIdAuthenticator.create({
        issuers: [iss],
        audience: 'api://skiff',
        jwksUri: issuer.jwksUri,
        mappings: [
          { tenantId: tenant, appRole: 'Skiff.Deploy', workspace: 'team-a', role: 'deployer' },
        ],
      });
      const store = new InMemoryCredentialStore();
      const team = issueTeamCredential({ workspace: 'team-a', role: 'reader' });
      store.put(team.credential);
      const server = await startProbeServer(
        [
          createAuthInterceptor({
            authenticator: createBearerAuthenticator({ credentials: store, entraId }),
            methodPermissions,
          }),
        ],
        implementation,
      );
      const client = new ProbeClient(server.address);
      const nowSeconds = Math.floor(Date.now() / 1_000);
      const token = (roles: string[]) =>
        issuer.sign({
          iss,
          aud: 'api://skiff',
          tid: tenant,
          oid: 'pipeline',
          roles,
          iat: nowSeconds,
          exp: nowSeconds + 600,
        });
      try {
        await expect(
          client.unary(PROBE.deploy, bearer(await token(['Skiff.Deploy']))),
        ).resolves.toMatchObject({
          ok: true,
          value: {
            caller: { via: 'entra-id', role: 'deployer', principal: `entra:${tenant}/pipeline` },
          },
        });
        await expect(
          client.unary(PROBE.deploy, bearer(await token(['Other']))),
        ).resolves.toMatchObject({
          ok: false,
          code: status.UNAUTHENTICATED,
        });
        await expect(client.unary(PROBE.read, bearer(team.token))).resolves.toMatchObject({
          ok: true,
        });
      } finally {
        client.close();
        await server.close();
      }
    });
  });
});
