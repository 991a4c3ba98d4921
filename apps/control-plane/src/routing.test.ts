import { createHash } from 'node:crypto';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  AgentServiceClient,
  AuthMode,
  KeyType,
  ReplicaPhase,
  Role,
  RoutingServiceClient,
  type ReplicaStatus,
  type ReportRouterLoadRequest,
  type RoutingTable,
  type WatchRoutingTableResponse,
} from '@skiff/proto';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachCompute,
  call,
  eventually,
  failure,
  minimalSpec,
  startHarness,
  type Harness,
} from './test-support/harness.js';
import { clientStream } from './test-support/uploads.js';

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** A WatchRoutingTable stream whose tables the test reads one by one. */
class TableWatch {
  readonly tables: RoutingTable[] = [];
  error: ServiceError | undefined;
  private readonly stream;

  constructor(client: RoutingServiceClient, metadata: Metadata, request: Record<string, string>) {
    this.stream = client.watchRoutingTable(
      { workspace: 'team-a', compute: 'local', routerId: 'router-1', ...request },
      metadata,
    );
    this.stream.on('data', (message: WatchRoutingTableResponse) =>
      this.tables.push(message.table!),
    );
    this.stream.on('error', (error: ServiceError) => (this.error = error));
  }

  /** The first table received after `afterVersion` that satisfies `check`. */
  async next(check: (table: RoutingTable) => boolean, afterVersion = 0): Promise<RoutingTable> {
    let found: RoutingTable | undefined;
    await eventually(async () => {
      if (this.error) throw this.error;
      found = this.tables.find((table) => table.version > afterVersion && check(table));
      expect(found).toBeDefined();
    });
    return found!;
  }

  async failure(): Promise<ServiceError> {
    await eventually(async () => expect(this.error).toBeDefined());
    return this.error!;
  }

  close(): void {
    this.stream.cancel();
  }
}

// RoutingService on a real control plane and Redis: what routers of a compute target see
// (services, auth, limits, routable replicas), how fast changes reach them, and what they
// may report — each bound to the agent credential's compute target.
describe('RoutingService', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let team: Awaited<ReturnType<Harness['team']>>;
  let routing: RoutingServiceClient;
  let agents: AgentServiceClient;
  const router = new Metadata();
  const otherCompute = new Metadata();
  const otherTeam = new Metadata();

  const replica = (overrides: Partial<ReplicaStatus>): ReplicaStatus => ({
    workspace: 'team-a',
    service: 'iris',
    generation: 1,
    replicaId: 'iris-a',
    address: '127.0.0.1:40001',
    phase: ReplicaPhase.REPLICA_PHASE_READY,
    inFlight: 0,
    maxConcurrent: 1,
    nodeName: 'node-1',
    startTime: new Date('2026-12-02T10:00:00Z'),
    restartCount: 0,
    message: '',
    ...overrides,
  });
  const reportReplicas = (replicas: ReplicaStatus[]) =>
    clientStream((md, callback) => agents.reportReplicas(md, callback), router, [
      { agentId: 'node-1', time: new Date(), replicas },
    ]);
  const reportLoad = (metadata: Metadata, messages: Partial<ReportRouterLoadRequest>[]) =>
    clientStream(
      (md, callback) => routing.reportRouterLoad(md, callback),
      metadata,
      messages.map((message) => ({
        routerId: 'router-1',
        time: new Date(),
        services: [],
        ...message,
      })),
    );
  const deploy = (name: string, deploymentConfig: Record<string, unknown> = {}) =>
    call(
      team.deployer.webservices,
      team.deployer.webservices.deployWebservice,
      {
        workspace: 'team-a',
        name,
        spec: minimalSpec({
          deploymentConfig: { ...minimalSpec().deploymentConfig!, ...deploymentConfig },
        }),
        overwrite: false,
      },
      team.deployer.metadata,
    );
  const keysOf = (name: string) =>
    call(
      team.deployer.webservices,
      team.deployer.webservices.getWebserviceKeys,
      { workspace: 'team-a', name },
      team.deployer.metadata,
    );

  async function agentToken(workspace: string, compute: string, admin = team.admin) {
    return (
      await call(
        admin.workspaces,
        admin.workspaces.createCredential,
        { workspace, role: Role.ROLE_AGENT, description: 'router', compute },
        admin.metadata,
      )
    ).token;
  }

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({
      redisUrl: redis.url,
      prefix: redis.prefix,
      env: { SKIFF_AGENT_REPORT_INTERVAL_MS: '200', SKIFF_AGENT_REDIS_ACL: 'off' },
    });
    team = await harness.team('team-a');
    const teamB = await harness.team('team-b');
    await attachCompute(team.admin, 'team-a', 'local');
    await attachCompute(team.admin, 'team-a', 'other');
    await attachCompute(teamB.admin, 'team-b', 'local');
    router.set('authorization', `Bearer ${await agentToken('team-a', 'local')}`);
    otherCompute.set('authorization', `Bearer ${await agentToken('team-a', 'other')}`);
    otherTeam.set('authorization', `Bearer ${await agentToken('team-b', 'local', teamB.admin)}`);
    routing = new RoutingServiceClient(harness.address, credentials.createInsecure());
    agents = new AgentServiceClient(harness.address, credentials.createInsecure());
    await call(
      agents,
      agents.registerAgent,
      {
        workspace: 'team-a',
        compute: 'local',
        nodeName: 'node-1',
        agentVersion: 'test',
        capacity: { cpu: 2, memoryInGb: 4, gpu: 0, fpga: 0 },
        labels: {},
      },
      router,
    );
    await deploy('iris', { maxConcurrentRequestsPerContainer: 2, appInsightsEnabled: true });
    await deploy('open', { authEnabled: false });
    await deploy('tokens', { tokenAuthEnabled: true });
  });
  afterAll(async () => {
    routing.close();
    agents.close();
    await harness.stop();
    await redis.cleanup();
  });

  it('streams the full table on connect: services, auth, limits and routable replicas', async () => {
    await reportReplicas([
      replica({ inFlight: 1 }),
      replica({ replicaId: 'iris-b', address: '', phase: ReplicaPhase.REPLICA_PHASE_STARTING }),
      replica({ replicaId: 'iris-c', address: '', phase: ReplicaPhase.REPLICA_PHASE_FAILED }),
    ]);
    const watch = new TableWatch(routing, router, {});
    try {
      const table = await watch.next((t) =>
        t.services.some((s) => s.service === 'iris' && s.replicas.length === 2),
      );
      expect(table.version).toBeGreaterThan(0);
      expect(table.services.map((s) => s.service)).toEqual(['iris', 'open', 'tokens']);
      const [iris, open, tokens] = table.services;
      const keys = await keysOf('iris');
      expect(iris).toMatchObject({
        workspace: 'team-a',
        generation: 1,
        authMode: AuthMode.AUTH_MODE_KEY,
        keySha256: [sha256Hex(keys.primaryKey), sha256Hex(keys.secondaryKey)],
        maxConcurrentPerReplica: 2,
        maxBodyBytes: 100 * 1024 * 1024,
        requestLogging: true,
      });
      expect(iris?.maxQueueWait).toEqual({ seconds: 0, nanos: 500_000_000 });
      expect(iris?.scoringTimeout).toEqual({ seconds: 60, nanos: 0 });
      // FAILED replicas are left out; counters that change with every report are not routed.
      expect(iris?.replicas.map((r) => [r.replicaId, r.phase, r.address, r.inFlight])).toEqual([
        ['iris-a', ReplicaPhase.REPLICA_PHASE_READY, '127.0.0.1:40001', 0],
        ['iris-b', ReplicaPhase.REPLICA_PHASE_STARTING, '', 0],
      ]);
      expect(open).toMatchObject({ authMode: AuthMode.AUTH_MODE_NONE, keySha256: [] });
      expect(tokens).toMatchObject({
        authMode: AuthMode.AUTH_MODE_TOKEN,
        tokenAudience: 'skiff:service:team-a/tokens',
      });
      expect(table.tokenIssuer).toBe('skiff-control-plane');
      const jwks = JSON.parse(table.tokenJwks) as { keys: { kid: string; d?: string }[] };
      expect(jwks.keys.length).toBeGreaterThan(0);
      expect(jwks.keys.every((key) => key.d === undefined)).toBe(true);
    } finally {
      watch.close();
    }
  });

  it('sends a new version on every routing change, and none when only counters change', async () => {
    const watch = new TableWatch(routing, router, {});
    try {
      const first = await watch.next(() => true);
      // Only the in-flight count changes: no new table.
      await reportReplicas([replica({ inFlight: 3 })]);
      const without = await watch.next(
        (t) => t.services.find((s) => s.service === 'iris')?.replicas.length === 1,
        first.version,
      );
      await reportReplicas([replica({ inFlight: 0 })]);
      await reportReplicas([replica({ phase: ReplicaPhase.REPLICA_PHASE_TERMINATING })]);
      const draining = await watch.next(
        (t) =>
          t.services.find((s) => s.service === 'iris')?.replicas[0]?.phase ===
          ReplicaPhase.REPLICA_PHASE_TERMINATING,
        without.version,
      );
      expect(draining.version).toBe(without.version + 1);
      // Versions only grow.
      const versions = watch.tables.map((t) => t.version);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
      expect(new Set(versions).size).toBe(versions.length);
    } finally {
      watch.close();
    }
  });

  it('carries a regenerated key to routers at once, and drops a deleted service', async () => {
    const watch = new TableWatch(routing, router, {});
    try {
      const before = await watch.next(() => true);
      const regenerated = await call(
        team.deployer.webservices,
        team.deployer.webservices.regenerateWebserviceKey,
        { workspace: 'team-a', name: 'iris', keyType: KeyType.KEY_TYPE_PRIMARY, keyValue: '' },
        team.deployer.metadata,
      );
      const after = await watch.next(
        (t) =>
          t.services
            .find((s) => s.service === 'iris')
            ?.keySha256.includes(sha256Hex(regenerated.primaryKey)) ?? false,
        before.version,
      );
      expect(after.services.find((s) => s.service === 'iris')?.keySha256).toHaveLength(2);

      await call(
        team.deployer.webservices,
        team.deployer.webservices.deleteWebservice,
        { workspace: 'team-a', name: 'open' },
        team.deployer.metadata,
      );
      const gone = await watch.next(
        (t) => !t.services.some((s) => s.service === 'open'),
        after.version,
      );
      expect(gone.services.map((s) => s.service)).toEqual(['iris', 'tokens']);
    } finally {
      watch.close();
    }
  });

  it('refuses routers without a credential, of another compute target or another team', async () => {
    // Another team's workspace is answered like a missing one (no existence leaks).
    const cases: [string, Metadata, Record<string, string>, status][] = [
      ['no credential', new Metadata(), {}, status.UNAUTHENTICATED],
      ['deployer', team.deployer.metadata, {}, status.PERMISSION_DENIED],
      ['other compute', otherCompute, {}, status.PERMISSION_DENIED],
      ['other team', otherTeam, {}, status.NOT_FOUND],
      ['missing compute', router, { compute: 'nope' }, status.NOT_FOUND],
      ['bad compute', router, { compute: 'x' }, status.INVALID_ARGUMENT],
      ['bad router id', router, { routerId: 'bad id/..' }, status.INVALID_ARGUMENT],
    ];
    for (const [label, metadata, request, code] of cases) {
      const watch = new TableWatch(routing, metadata, request);
      const error = await watch.failure();
      expect([label, error.code]).toEqual([label, code]);
      watch.close();
    }
    const denied = await failure(reportLoad(team.deployer.metadata, [{}]));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
  });

  it('counts router queues in the service view, and names the field of a bad report', async () => {
    await reportLoad(router, [
      { services: [{ workspace: 'team-a', service: 'iris', queued: 4, inFlight: 2 }] },
    ]);
    await reportLoad(router, [
      {
        routerId: 'router-2',
        services: [{ workspace: 'team-a', service: 'iris', queued: 1, inFlight: 0 }],
      },
    ]);
    const view = await call(
      team.reader.webservices,
      team.reader.webservices.getWebservice,
      { workspace: 'team-a', name: 'iris' },
      team.reader.metadata,
    );
    expect(view.webservice?.replicas?.queued).toBe(5);

    const bad: [Partial<ReportRouterLoadRequest>, RegExp][] = [
      [{ routerId: '' }, /^router_id: /],
      [
        { services: [{ workspace: 'team-b', service: 'iris', queued: 0, inFlight: 0 }] },
        /^services\[0\]\.workspace: .*'team-a'/,
      ],
      [
        { services: [{ workspace: 'team-a', service: 'Not A Name', queued: 0, inFlight: 0 }] },
        /^services\[0\]\.service: /,
      ],
      [
        { services: [{ workspace: 'team-a', service: 'iris', queued: -1, inFlight: 0 }] },
        /^services\[0\]\.queued: expected an integer/,
      ],
    ];
    for (const [message, expected] of bad) {
      const error = await failure(reportLoad(router, [message]));
      expect([error.code, error.details]).toEqual([
        status.INVALID_ARGUMENT,
        expect.stringMatching(expected),
      ]);
    }
  });

  it('hands out versions from one counter across control planes (a second one continues above)', async () => {
    const second = await startHarness({
      redisUrl: redis.url,
      prefix: redis.prefix,
      dataDir: harness.dataDir,
      env: { SKIFF_ADMIN_TOKEN: harness.adminToken, SKIFF_AGENT_REDIS_ACL: 'off' },
    });
    const otherRouting = new RoutingServiceClient(second.address, credentials.createInsecure());
    const first = new TableWatch(routing, router, {});
    const other = new TableWatch(otherRouting, router, {});
    try {
      const a = await first.next(() => true);
      const b = await other.next(() => true);
      // The same content has the same version wherever it is served.
      expect(b.version).toBe(a.version);
      await reportReplicas([replica({ replicaId: 'iris-z', address: '127.0.0.1:40009' })]);
      const next = await other.next(
        (t) => t.services.some((s) => s.replicas.some((r) => r.replicaId === 'iris-z')),
        b.version,
      );
      expect(next.version).toBeGreaterThan(b.version);
    } finally {
      first.close();
      other.close();
      otherRouting.close();
      await second.stop();
    }
  });
});
