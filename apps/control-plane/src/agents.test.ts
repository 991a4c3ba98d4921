import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  AgentServiceClient,
  ComputeKind,
  ComputeState,
  ReplicaPhase,
  Role,
  type AppendLogsRequest,
  type AppendLogsResponse,
  type DownloadArtifactResponse,
  type ReplicaStatus,
} from '@skiff/proto';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachCompute,
  call,
  eventually,
  failure,
  minimalSpec,
  startHarness,
  type Clients,
  type Harness,
} from './test-support/harness.js';
import { filesOf, headerFor } from './test-support/model-upload.js';
import { clientStream, registerModel } from './test-support/uploads.js';

// AgentService on a real control plane and real Redis: registration and heartbeats, replica
// reports, logs, artifact downloads and deployments — each bound to the agent credential's
// compute target and workspace.
describe('AgentService', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let teamA: Awaited<ReturnType<Harness['team']>>;
  let teamB: Awaited<ReturnType<Harness['team']>>;
  let agent: AgentServiceClient;
  const local = new Metadata();
  const other = new Metadata();
  const teamBAgent = new Metadata();
  const weights = Buffer.from('iris weights '.repeat(1000));

  async function agentToken(
    team: Awaited<ReturnType<Harness['team']>>,
    workspace: string,
    compute: string,
  ) {
    return (
      await call(
        team.admin.workspaces,
        team.admin.workspaces.createCredential,
        { workspace, role: Role.ROLE_AGENT, description: 'agent', compute },
        team.admin.metadata,
      )
    ).token;
  }
  const register = (metadata: Metadata, overrides: Record<string, unknown> = {}) =>
    call(
      agent,
      agent.registerAgent,
      {
        workspace: 'team-a',
        compute: 'local',
        nodeName: 'node-1',
        agentVersion: '0.1.0',
        capacity: { cpu: 2, memoryInGb: 8, gpu: 0, fpga: 0 },
        labels: {},
        ...overrides,
      },
      metadata,
    );
  const replica = (overrides: Partial<ReplicaStatus> = {}): ReplicaStatus => ({
    workspace: 'team-a',
    service: 'iris',
    generation: 1,
    replicaId: 'iris-1-a',
    address: '127.0.0.1:40001',
    phase: ReplicaPhase.REPLICA_PHASE_READY,
    inFlight: 1,
    maxConcurrent: 1,
    nodeName: 'node-1',
    startTime: new Date(),
    restartCount: 0,
    message: '',
    ...overrides,
  });
  const report = (metadata: Metadata, replicas: ReplicaStatus[], agentId = 'node-1') =>
    clientStream((md, callback) => agent.reportReplicas(md, callback), metadata, [
      { agentId, time: new Date(), replicas },
    ]);
  const getService = async (clients: Clients, name: string) =>
    (
      await call(
        clients.webservices,
        clients.webservices.getWebservice,
        { workspace: 'team-a', name },
        clients.metadata,
      )
    ).webservice!;
  function download(metadata: Metadata, digest: string, workspace = 'team-a'): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      const stream = agent.downloadArtifact({ workspace, digest }, metadata);
      stream.on('data', (message: DownloadArtifactResponse) =>
        parts.push(Buffer.from(message.chunk)),
      );
      stream.on('end', () => resolve(Buffer.concat(parts)));
      stream.on('error', reject);
    });
  }

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({
      redisUrl: redis.url,
      prefix: redis.prefix,
      env: { SKIFF_AGENT_REPORT_INTERVAL_MS: '200' },
    });
    teamA = await harness.team('team-a');
    teamB = await harness.team('team-b');
    await attachCompute(teamA.admin, 'team-a', 'local');
    await attachCompute(teamA.admin, 'team-a', 'other', ComputeKind.COMPUTE_KIND_LOCAL);
    await attachCompute(teamB.admin, 'team-b', 'local');
    local.set('authorization', `Bearer ${await agentToken(teamA, 'team-a', 'local')}`);
    other.set('authorization', `Bearer ${await agentToken(teamA, 'team-a', 'other')}`);
    teamBAgent.set('authorization', `Bearer ${await agentToken(teamB, 'team-b', 'local')}`);
    agent = new AgentServiceClient(harness.address, credentials.createInsecure());

    await clientStream(registerModel(teamA.deployer), teamA.deployer.metadata, [
      headerFor('iris', { 'model.bin': weights }),
      ...filesOf({ 'model.bin': weights }),
    ]);
    await call(
      teamA.deployer.webservices,
      teamA.deployer.webservices.deployWebservice,
      {
        workspace: 'team-a',
        name: 'iris',
        spec: minimalSpec({ models: [{ name: 'iris', version: 0 }] }),
        overwrite: false,
      },
      teamA.deployer.metadata,
    );
  });
  afterAll(async () => {
    agent.close();
    await harness.stop();
    // The ACL users this run created live outside the key space: remove them too.
    const admin = new Redis(redis.url);
    const users = (await admin.call('ACL', 'USERS')) as string[];
    for (const user of users.filter((name) => name.startsWith(redis.prefix))) {
      await admin.call('ACL', 'DELUSER', user);
    }
    admin.disconnect();
    await redis.cleanup();
  });

  it('registers an agent: its queue, report interval and Redis user; the compute target turns Ready, then Unreachable without heartbeats', async () => {
    const registered = await register(local);
    expect(registered.agentId).toBe('node-1');
    expect(registered.queueName).toBe('compute.team-a.local');
    expect(registered.reportInterval).toEqual({ seconds: 0, nanos: 200_000_000 });
    expect(registered.redis?.queuePrefix).toBe(`${redis.prefix.replace(/:$/, '')}:bull`);
    const compute = async () =>
      (
        await call(
          teamA.reader.computes,
          teamA.reader.computes.getCompute,
          { workspace: 'team-a', name: 'local' },
          teamA.reader.metadata,
        )
      ).compute!;
    expect([(await compute()).state, (await compute()).readyAgents]).toEqual([
      ComputeState.COMPUTE_STATE_READY,
      1,
    ]);
    await eventually(async () => {
      expect((await compute()).state).toBe(ComputeState.COMPUTE_STATE_UNREACHABLE);
    });
    await register(local);
    expect((await compute()).state).toBe(ComputeState.COMPUTE_STATE_READY);
  });

  it('gives the agent a Redis user that can touch its own queue and nothing else', async () => {
    const { redis: access } = await register(local);
    const [host, port] = new URL(redis.url).host.split(':');
    const client = new Redis({
      host: host!,
      port: Number(port),
      username: access!.username,
      password: access!.password,
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => undefined);
    try {
      const own = `${access!.queuePrefix}:compute.team-a.local:acl-probe`;
      await client.set(own, 'x');
      expect(await client.get(own)).toBe('x');
      await client.del(own);
      const denied = async (operation: () => Promise<unknown>) =>
        String(
          await operation().then(
            () => 'allowed',
            (error: Error) => error.message,
          ),
        );
      // The control plane's state, another compute target's queue, another team's queue.
      expect(await denied(() => client.hgetall(`${redis.prefix}workspaces`))).toMatch(/NOPERM/);
      expect(
        await denied(() =>
          client.lrange(`${access!.queuePrefix}:compute.team-a.other:wait`, 0, -1),
        ),
      ).toMatch(/NOPERM/);
      expect(
        await denied(() =>
          client.lrange(`${access!.queuePrefix}:compute.team-b.local:wait`, 0, -1),
        ),
      ).toMatch(/NOPERM/);
      expect(await denied(() => client.keys('*'))).toMatch(/NOPERM/);
      expect(await denied(() => client.call('ACL', 'LIST'))).toMatch(/NOPERM/);
    } finally {
      client.disconnect();
    }
  });

  it("refuses callers that are not this compute target's agent", async () => {
    const cases: Array<[Metadata, number]> = [
      [new Metadata(), status.UNAUTHENTICATED],
      [teamA.deployer.metadata, status.PERMISSION_DENIED],
      [other, status.PERMISSION_DENIED],
      [teamBAgent, status.NOT_FOUND], // team-a's workspace does not exist for team-b
    ];
    for (const [metadata, code] of cases) {
      expect((await failure(register(metadata))).code).toBe(code);
    }
    const bad = await failure(register(local, { nodeName: 'bad name/..' }));
    expect([bad.code, bad.details]).toEqual([
      status.INVALID_ARGUMENT,
      expect.stringContaining('node_name'),
    ]);
  });

  it("turns replica reports into the service's ready and in-flight counts", async () => {
    await register(local);
    await report(local, [
      replica(),
      replica({ replicaId: 'iris-1-b', address: '127.0.0.1:40002', inFlight: 0 }),
      replica({
        replicaId: 'iris-1-c',
        phase: ReplicaPhase.REPLICA_PHASE_STARTING,
        address: '',
        inFlight: 0,
      }),
    ]);
    const service = await getService(teamA.reader, 'iris');
    expect([service.replicas?.ready, service.replicas?.inFlight]).toEqual([2, 1]);
  });

  it('refuses replica reports about another workspace, from an unregistered agent, or malformed', async () => {
    const foreign = await failure(report(local, [replica({ workspace: 'team-b' })]));
    expect([foreign.code, foreign.details]).toEqual([
      status.PERMISSION_DENIED,
      expect.stringContaining('replicas[0].workspace'),
    ]);
    const stranger = await failure(report(local, [replica()], 'node-never-registered'));
    expect(stranger.code).toBe(status.FAILED_PRECONDITION);
    const noAddress = await failure(report(local, [replica({ address: 'nowhere' })]));
    expect([noAddress.code, noAddress.details]).toEqual([
      status.INVALID_ARGUMENT,
      expect.stringContaining('replicas[0].address'),
    ]);
    const noPhase = await failure(
      report(local, [replica({ phase: ReplicaPhase.REPLICA_PHASE_UNSPECIFIED })]),
    );
    expect(noPhase.code).toBe(status.INVALID_ARGUMENT);
  });

  it('appends replica log lines that get-logs shows, only for services on its compute target', async () => {
    const appended = await clientStream<AppendLogsRequest, AppendLogsResponse>(
      (md, callback) => agent.appendLogs(md, callback),
      local,
      [
        {
          workspace: 'team-a',
          service: 'iris',
          lines: [
            {
              id: '',
              time: new Date(),
              replica: 'iris-1-a',
              stream: 'stderr',
              text: 'init() done',
            },
          ],
        },
      ],
    );
    expect(appended.appended).toBe(1);
    const lines = await new Promise<string[]>((resolve, reject) => {
      const texts: string[] = [];
      const stream = teamA.reader.webservices.getWebserviceLogs(
        { workspace: 'team-a', name: 'iris', tail: 10, follow: false, replica: '', afterId: '' },
        teamA.reader.metadata,
      );
      stream.on('data', (message: { lines: { text: string }[] }) =>
        texts.push(...message.lines.map((l) => l.text)),
      );
      stream.on('end', () => resolve(texts));
      stream.on('error', reject);
    });
    expect(lines).toContain('init() done');

    const wrongCompute = await failure(
      clientStream((md, callback) => agent.appendLogs(md, callback), other, [
        { workspace: 'team-a', service: 'iris', lines: [] },
      ]),
    );
    expect(wrongCompute.code).toBe(status.PERMISSION_DENIED);
    const badStream = await failure(
      clientStream((md, callback) => agent.appendLogs(md, callback), local, [
        {
          workspace: 'team-a',
          service: 'iris',
          lines: [{ id: '', time: new Date(), replica: 'r', stream: 'console', text: 'x' }],
        },
      ]),
    );
    expect([badStream.code, badStream.details]).toEqual([
      status.INVALID_ARGUMENT,
      expect.stringContaining('lines[0].stream'),
    ]);
  });

  it('serves what a service should run, with its model files, and the blobs by digest', async () => {
    const deployment = await call(
      agent,
      agent.getDeployment,
      { workspace: 'team-a', service: 'iris' },
      local,
    );
    expect(deployment.generation).toBe(1);
    expect(deployment.desiredReplicas).toBe(2);
    expect(deployment.models.map((m) => [m.name, m.version, m.files.map((f) => f.path)])).toEqual([
      ['iris', 1, ['model.bin']],
    ]);
    const blob = deployment.models[0]!.files[0]!.blobDigest;
    expect(await download(local, blob)).toEqual(weights);

    const otherCompute = await failure(
      call(agent, agent.getDeployment, { workspace: 'team-a', service: 'iris' }, other),
    );
    expect(otherCompute.code).toBe(status.PERMISSION_DENIED);
    const missing = await failure(
      call(agent, agent.getDeployment, { workspace: 'team-a', service: 'nope' }, local),
    );
    expect(missing.code).toBe(status.NOT_FOUND);
    // Another team's agent cannot fetch team-a's blob, even naming its own workspace.
    const foreign = (await download(teamBAgent, blob, 'team-b').catch(
      (e: ServiceError) => e,
    )) as ServiceError;
    expect(foreign.code).toBe(status.NOT_FOUND);
    const malformed = (await download(local, 'sha256:nothex').catch(
      (e: ServiceError) => e,
    )) as ServiceError;
    expect([malformed.code, malformed.details]).toEqual([
      status.INVALID_ARGUMENT,
      expect.stringContaining('digest'),
    ]);
  });
});
