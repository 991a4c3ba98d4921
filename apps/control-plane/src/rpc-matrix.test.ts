import { rm } from 'node:fs/promises';
import { status, type Client } from '@grpc/grpc-js';
import { ComputeKind, KeyType, Role } from '@skiff/proto';
import { isolatedRedis, startRedisServer, type IsolatedRedis } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachCompute,
  call,
  failure,
  startHarness,
  type Clients,
  type Harness,
} from './test-support/harness.js';

// Every unary RPC of the workspace, compute and webservice services, called four wrong ways:
// without a credential, with a role that lacks the permission, from another workspace, and
// with an invalid request. (Model and snapshot uploads have their own tests.)
type Invoke = (clients: Clients, workspace: string) => Promise<unknown>;
interface Row {
  method: string;
  invoke: Invoke;
  /** The weakest role that may call it. */
  role: 'reader' | 'deployer' | 'admin';
  /** An invalid request and the field its error must name. */
  invalid?: [Invoke, string];
}

const unary =
  <Req>(pick: (c: Clients) => Client, name: string, request: (ws: string) => Req): Invoke =>
  (clients, workspace) => {
    const client = pick(clients) as unknown as Record<string, Parameters<typeof call>[1]>;
    return call(pick(clients), client[name]!, request(workspace), clients.metadata);
  };
const ws = (c: Clients) => c.workspaces;
const cs = (c: Clients) => c.computes;
const svc = (c: Clients) => c.webservices;
const target = (workspace: string) => ({ workspace, name: 'iris' });
const spec = {
  compute: 'local',
  models: [],
  snapshotDigest: '',
  inferenceConfig: { entryScript: 'score.py', runtime: '', sourceDirectory: '', description: '' },
  deploymentConfig: { computeType: 1, tags: {}, properties: {}, namespace: '', description: '' },
};

const rows: Row[] = [
  {
    method: 'GetWorkspace',
    role: 'reader',
    invoke: unary(ws, 'getWorkspace', (w) => ({ name: w })),
  },
  {
    method: 'ListCredentials',
    role: 'admin',
    invoke: unary(ws, 'listCredentials', (w) => ({ workspace: w, pageSize: 0, pageToken: '' })),
    invalid: [
      unary(ws, 'listCredentials', (w) => ({ workspace: w, pageSize: -1, pageToken: '' })),
      'page_size',
    ],
  },
  {
    method: 'CreateCredential',
    role: 'admin',
    invoke: unary(ws, 'createCredential', (w) => ({
      workspace: w,
      role: Role.ROLE_READER,
      description: '',
      compute: '',
    })),
    invalid: [
      unary(ws, 'createCredential', (w) => ({
        workspace: w,
        role: 99,
        description: '',
        compute: '',
      })),
      'role',
    ],
  },
  {
    method: 'RevokeCredential',
    role: 'admin',
    invoke: unary(ws, 'revokeCredential', (w) => ({ workspace: w, id: '0'.repeat(24) })),
    invalid: [unary(ws, 'revokeCredential', (w) => ({ workspace: w, id: '' })), 'id'],
  },
  {
    method: 'ListAuditEvents',
    role: 'admin',
    invoke: unary(ws, 'listAuditEvents', (w) => ({ workspace: w, afterId: '', pageSize: 0 })),
    invalid: [
      unary(ws, 'listAuditEvents', (w) => ({ workspace: w, afterId: '', pageSize: 10_001 })),
      'page_size',
    ],
  },
  {
    method: 'GetCompute',
    role: 'reader',
    invoke: unary(cs, 'getCompute', (w) => ({ workspace: w, name: 'local' })),
    invalid: [unary(cs, 'getCompute', (w) => ({ workspace: w, name: 'No_Such' })), 'name'],
  },
  {
    method: 'ListComputes',
    role: 'reader',
    invoke: unary(cs, 'listComputes', (w) => ({ workspace: w, pageSize: 0, pageToken: '' })),
    invalid: [
      unary(cs, 'listComputes', (w) => ({ workspace: w, pageSize: 0, pageToken: '!!' })),
      'page_token',
    ],
  },
  {
    method: 'AttachCompute',
    role: 'admin',
    invoke: unary(cs, 'attachCompute', (w) => ({
      compute: {
        workspace: w,
        name: 'aks',
        kind: ComputeKind.COMPUTE_KIND_KUBERNETES,
        clusterPurpose: 0,
        namespace: '',
        routerUrl: 'https://ml.example.test',
        region: '',
        apiServer: '',
        state: 0,
        readyAgents: 0,
      },
    })),
    invalid: [
      unary(cs, 'attachCompute', (w) => ({
        compute: {
          workspace: w,
          name: 'x2',
          kind: ComputeKind.COMPUTE_KIND_KUBERNETES,
          clusterPurpose: 0,
          namespace: '',
          routerUrl: '',
          region: '',
          apiServer: '',
          state: 0,
          readyAgents: 0,
        },
      })),
      'router_url',
    ],
  },
  {
    method: 'GetConnectivity',
    role: 'reader',
    invoke: unary(cs, 'getConnectivity', (w) => ({ workspace: w, compute: 'local' })),
    invalid: [unary(cs, 'getConnectivity', (w) => ({ workspace: w, compute: '' })), 'compute'],
  },
  {
    method: 'GetWebservice',
    role: 'reader',
    invoke: unary(svc, 'getWebservice', target),
    invalid: [unary(svc, 'getWebservice', (w) => ({ workspace: w, name: 'UPPER' })), 'name'],
  },
  {
    method: 'ListWebservices',
    role: 'reader',
    invoke: unary(svc, 'listWebservices', (w) => ({
      workspace: w,
      compute: '',
      modelName: '',
      pageSize: 0,
      pageToken: '',
    })),
    invalid: [
      unary(svc, 'listWebservices', (w) => ({
        workspace: w,
        compute: '',
        modelName: '',
        pageSize: 5000,
        pageToken: '',
      })),
      'page_size',
    ],
  },
  {
    method: 'DeployWebservice',
    role: 'deployer',
    invoke: unary(svc, 'deployWebservice', (w) => ({
      workspace: w,
      name: 'iris',
      spec,
      overwrite: false,
    })),
    invalid: [
      unary(svc, 'deployWebservice', (w) => ({
        workspace: w,
        name: 'iris',
        spec: { ...spec, inferenceConfig: undefined },
        overwrite: false,
      })),
      'entry_script',
    ],
  },
  {
    method: 'UpdateWebservice',
    role: 'deployer',
    invoke: unary(svc, 'updateWebservice', (w) => ({
      workspace: w,
      name: 'iris',
      spec,
      updateMask: [],
    })),
    invalid: [
      unary(svc, 'updateWebservice', (w) => ({
        workspace: w,
        name: 'iris',
        spec,
        updateMask: ['bogus'],
      })),
      'bogus',
    ],
  },
  {
    method: 'GetWebserviceKeys',
    role: 'deployer',
    invoke: unary(svc, 'getWebserviceKeys', target),
    invalid: [unary(svc, 'getWebserviceKeys', (w) => ({ workspace: w, name: '' })), 'name'],
  },
  {
    method: 'RegenerateWebserviceKey',
    role: 'deployer',
    invoke: unary(svc, 'regenerateWebserviceKey', (w) => ({
      workspace: w,
      name: 'iris',
      keyType: KeyType.KEY_TYPE_SECONDARY,
      keyValue: '',
    })),
    invalid: [
      unary(svc, 'regenerateWebserviceKey', (w) => ({
        workspace: w,
        name: 'iris',
        keyType: 0,
        keyValue: '',
      })),
      'key_type',
    ],
  },
  {
    method: 'GetWebserviceToken',
    role: 'deployer',
    invoke: unary(svc, 'getWebserviceToken', target),
    invalid: [unary(svc, 'getWebserviceToken', (w) => ({ workspace: w, name: 'x' })), 'name'],
  },
  {
    method: 'DeleteWebservice',
    role: 'deployer',
    invoke: unary(svc, 'deleteWebservice', (w) => ({ workspace: w, name: 'gone' })),
    invalid: [unary(svc, 'deleteWebservice', (w) => ({ workspace: w, name: '-bad-' })), 'name'],
  },
];

const weaker = { reader: undefined, deployer: 'reader', admin: 'deployer' } as const;

describe('every unary RPC, called wrongly', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let teamA: Awaited<ReturnType<Harness['team']>>;
  let teamB: Awaited<ReturnType<Harness['team']>>;

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({ redisUrl: redis.url, prefix: redis.prefix });
    teamA = await harness.team('team-a');
    teamB = await harness.team('team-b');
    await attachCompute(teamA.admin, 'team-a');
    await call(
      teamA.deployer.webservices,
      teamA.deployer.webservices.deployWebservice,
      { workspace: 'team-a', name: 'iris', spec, overwrite: false },
      teamA.deployer.metadata,
    );
  });
  afterAll(async () => {
    await harness.stop();
    await redis.cleanup();
  });

  it.each(rows)('$method without a credential → UNAUTHENTICATED', async ({ invoke }) => {
    expect((await failure(invoke(harness.clients(undefined), 'team-a'))).code).toBe(
      status.UNAUTHENTICATED,
    );
  });

  it.each(rows.filter((r) => weaker[r.role]))(
    '$method with a weaker role → PERMISSION_DENIED',
    async ({ invoke, role }) => {
      const clients = teamA[weaker[role]!];
      expect((await failure(invoke(clients, 'team-a'))).code).toBe(status.PERMISSION_DENIED);
    },
  );

  it.each(rows)(
    '$method on another workspace → NOT_FOUND, without naming what exists there',
    async ({ invoke, role }) => {
      const error = await failure(invoke(teamB[role], 'team-a'));
      expect(error.code).toBe(status.NOT_FOUND);
      expect(error.details).not.toContain('iris');
      expect(error.details).not.toContain('local');
    },
  );

  it.each(rows.filter((r) => r.invalid))(
    '$method with an invalid request → INVALID_ARGUMENT naming the field',
    async ({ invalid, role }) => {
      const [invoke, field] = invalid!;
      const error = await failure(invoke(teamA[role], 'team-a'));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.details).toContain(field);
    },
  );
});

describe('every unary RPC while Redis is down', () => {
  it('answers UNAVAILABLE (never INTERNAL) and recovers when Redis returns', async () => {
    const server = await startRedisServer({ appendOnly: true });
    const harness = await startHarness({ redisUrl: server.url, prefix: 'skiff-matrix:' });
    let restarted: Awaited<ReturnType<typeof startRedisServer>> | undefined;
    try {
      const team = await harness.team('team-a');
      await server.crash();
      for (const row of rows) {
        const error = await failure(row.invoke(team[row.role], 'team-a'));
        expect([row.method, error.code]).toEqual([row.method, status.UNAVAILABLE]);
      }
      restarted = await startRedisServer({ port: server.port, dir: server.dir, appendOnly: true });
      let workspace: unknown;
      for (let i = 0; i < 100 && !workspace; i++) {
        workspace = await rows[0]!
          .invoke(team.admin, 'team-a')
          .catch(() => new Promise((r) => setTimeout(() => r(undefined), 50)));
      }
      expect(workspace).toMatchObject({ workspace: { name: 'team-a' } });
    } finally {
      await harness.stop();
      await restarted?.stop();
      await rm(server.dir, { recursive: true, force: true });
    }
  });
});
