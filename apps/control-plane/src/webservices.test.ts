import { status, type Metadata } from '@grpc/grpc-js';
import { ComputeQueue } from '@skiff/queue';
import {
  DeploymentStep,
  KeyType,
  WebserviceState,
  type DeploymentEvent,
  type WebserviceSpec,
} from '@skiff/proto';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachCompute,
  call,
  failure,
  startHarness,
  type Clients,
  type Harness,
} from './test-support/harness.js';
import { startStandInAgent, type StandInAgent } from './test-support/stand-in-agent.js';

const spec = (overrides: Partial<WebserviceSpec> = {}): WebserviceSpec => ({
  compute: 'local',
  models: [],
  snapshotDigest: '',
  inferenceConfig: { entryScript: 'score.py', runtime: '', sourceDirectory: '', description: '' },
  deploymentConfig: {
    computeType: 1, // AKS: deploys unchanged to a local compute target
    autoScaler: { minReplicas: 2, maxReplicas: 4 },
    tags: {},
    properties: {},
    namespace: '',
    description: '',
  },
  ...overrides,
});

describe('WebserviceService on a real control plane', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let teamA: Awaited<ReturnType<Harness['team']>>;
  let teamB: Awaited<ReturnType<Harness['team']>>;
  let agent: StandInAgent | undefined;
  const agentSeen = (): string[] => agent?.seen ?? [];

  const deploy = (
    clients: Clients,
    name: string,
    s: WebserviceSpec = spec(),
    overwrite = false,
    workspace = 'team-a',
  ) =>
    call(
      clients.webservices,
      clients.webservices.deployWebservice,
      { workspace, name, spec: s, overwrite },
      clients.metadata,
    );
  const get = (clients: Clients, name: string, workspace = 'team-a') =>
    call(
      clients.webservices,
      clients.webservices.getWebservice,
      { workspace, name },
      clients.metadata,
    );

  function watch(
    clients: Clients,
    name: string,
    generation = 0,
    afterSequence = 0,
  ): Promise<DeploymentEvent[]> {
    return new Promise((resolve, reject) => {
      const events: DeploymentEvent[] = [];
      const stream = clients.webservices.watchDeployment(
        { workspace: 'team-a', name, generation, afterSequence },
        clients.metadata,
      );
      stream.on('data', (message: { event: DeploymentEvent }) => events.push(message.event));
      stream.on('end', () => resolve(events));
      stream.on('error', reject);
    });
  }

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({ redisUrl: redis.url, prefix: redis.prefix });
    teamA = await harness.team('team-a');
    teamB = await harness.team('team-b');
    for (const [team, workspace] of [
      [teamA, 'team-a'],
      [teamB, 'team-b'],
    ] as const) {
      await attachCompute(team.admin, workspace);
    }
  });
  afterAll(async () => {
    await agent?.close();
    await harness.stop();
    await redis.cleanup();
  });

  function startAgent(): void {
    // Reports 0/2 and 1/2 ready in progress and 2/2 on completion: a late progress event
    // applied after the completion would show.
    agent = startStandInAgent({ redisUrl: redis.url, prefix: redis.prefix, workspace: 'team-a' });
  }

  it('deploys: Transitioning with a generation, a scoring URI and defaults filled, then streams progress to Healthy', async () => {
    const deployed = await deploy(teamA.deployer, 'iris');
    expect(deployed.operationId).toBe('deploy.team-a.iris.1');
    const ws = deployed.webservice!;
    expect(ws.state).toBe(WebserviceState.WEBSERVICE_STATE_TRANSITIONING);
    expect(ws.generation).toBe(1);
    expect(ws.scoringUri).toBe('http://127.0.0.1:8080/api/v1/service/iris/score');
    expect(ws.spec?.deploymentConfig?.autoScaler?.targetUtilization).toBe(70);
    expect(ws.spec?.deploymentConfig?.maxConcurrentRequestsPerContainer).toBe(1);
    expect(ws.spec?.deploymentConfig?.namespace).toBe('team-a');
    expect(ws.environmentHash).toMatch(/^sha256:v1:[0-9a-f]{64}$/);
    expect(ws.replicas?.desired).toBe(2);

    const watched = watch(teamA.reader, 'iris');
    startAgent();
    const events = await watched;
    expect(events.map((e) => e.step)).toEqual([
      DeploymentStep.DEPLOYMENT_STEP_QUEUED,
      DeploymentStep.DEPLOYMENT_STEP_STARTED,
      DeploymentStep.DEPLOYMENT_STEP_WORKLOAD_APPLIED,
      DeploymentStep.DEPLOYMENT_STEP_REPLICAS,
      DeploymentStep.DEPLOYMENT_STEP_REPLICAS,
      DeploymentStep.DEPLOYMENT_STEP_HEALTHY,
    ]);
    expect(events.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.at(-1)?.terminal).toBe(true);
    expect(events[4]?.detail).toEqual({
      $case: 'replicas',
      replicas: { ready: 1, desired: 2, inFlight: 0, queued: 0, current: 0 },
    });

    const after = (await get(teamA.reader, 'iris')).webservice!;
    expect(after.state).toBe(WebserviceState.WEBSERVICE_STATE_HEALTHY);
    expect(after.appliedGeneration).toBe(1);
    expect(after.replicas?.ready).toBe(2);
  });

  it('gives a late watcher the whole history, and resumes after a sequence', async () => {
    expect((await watch(teamA.reader, 'iris')).map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await watch(teamA.reader, 'iris', 1, 4)).map((e) => e.sequence)).toEqual([5, 6]);
  });

  it('is idempotent: the same spec again makes no new generation and no new job', async () => {
    const queue = await ComputeQueue.connect({
      redisUrl: redis.url,
      prefix: `${redis.prefix.replace(/:$/, '')}:bull`,
      workspace: 'team-a',
      compute: 'local',
    });
    try {
      const pendingBefore = await queue.pendingCount();
      const again = await deploy(teamA.deployer, 'iris');
      expect(again.webservice?.generation).toBe(1);
      expect(again.operationId).toBe('deploy.team-a.iris.1');
      // Asked of the queue itself, right after the call: no job was added, none is waiting.
      expect(await queue.pendingCount()).toBe(pendingBefore);
      expect(pendingBefore).toBe(0);
      expect(await queue.status('deploy.team-a.iris.2')).toBeUndefined();
      expect(
        (
          await queue.enqueue({
            kind: 'deploy',
            workspace: 'team-a',
            service: 'iris',
            generation: 1,
          })
        ).created,
      ).toBe(false);
    } finally {
      await queue.close();
    }
  });

  it('refuses a different spec under a taken name unless overwrite, then rolls a new generation', async () => {
    const changed = spec({
      deploymentConfig: {
        ...spec().deploymentConfig!,
        autoScaler: { minReplicas: 1, maxReplicas: 3 },
      },
    });
    const error = await failure(deploy(teamA.deployer, 'iris', changed));
    expect(error.code).toBe(status.ALREADY_EXISTS);
    const overwritten = await deploy(teamA.deployer, 'iris', changed, true);
    expect(overwritten.webservice?.generation).toBe(2);
    const events = await watch(teamA.reader, 'iris', 2);
    expect(events.at(-1)?.step).toBe(DeploymentStep.DEPLOYMENT_STEP_HEALTHY);
  });

  it('updates through a field mask: only the named fields change', async () => {
    const patch = spec({
      deploymentConfig: { ...spec().deploymentConfig!, autoScaler: { maxReplicas: 7 } },
    });
    const updated = await call(
      teamA.deployer.webservices,
      teamA.deployer.webservices.updateWebservice,
      {
        workspace: 'team-a',
        name: 'iris',
        spec: patch,
        updateMask: ['deployment_config.auto_scaler.max_replicas'],
      },
      teamA.deployer.metadata,
    );
    expect(updated.webservice?.generation).toBe(3);
    expect(updated.webservice?.spec?.deploymentConfig?.autoScaler?.maxReplicas).toBe(7);
    expect(updated.webservice?.spec?.deploymentConfig?.autoScaler?.minReplicas).toBe(1);
    const bad = await failure(
      call(
        teamA.deployer.webservices,
        teamA.deployer.webservices.updateWebservice,
        {
          workspace: 'team-a',
          name: 'iris',
          spec: patch,
          updateMask: ['deployment_config.no_such_field'],
        },
        teamA.deployer.metadata,
      ),
    );
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('deployment_config.no_such_field');
  });

  it('returns keys, regenerates one so the old one is gone, and audits both', async () => {
    const keys = await call(
      teamA.deployer.webservices,
      teamA.deployer.webservices.getWebserviceKeys,
      { workspace: 'team-a', name: 'iris' },
      teamA.deployer.metadata,
    );
    expect(keys.primaryKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(keys.secondaryKey).not.toBe(keys.primaryKey);
    const regenerated = await call(
      teamA.deployer.webservices,
      teamA.deployer.webservices.regenerateWebserviceKey,
      {
        workspace: 'team-a',
        name: 'iris',
        keyType: KeyType.KEY_TYPE_PRIMARY,
        keyValue: '',
      },
      teamA.deployer.metadata,
    );
    expect(regenerated.primaryKey).not.toBe(keys.primaryKey);
    expect(regenerated.secondaryKey).toBe(keys.secondaryKey);
    const audit = await call(
      teamA.admin.workspaces,
      teamA.admin.workspaces.listAuditEvents,
      { workspace: 'team-a', afterId: '', pageSize: 0 },
      teamA.admin.metadata,
    );
    const actions = audit.events.map((e) => e.action.split('/').pop());
    expect(actions).toContain('GetWebserviceKeys');
    expect(actions).toContain('RegenerateWebserviceKey');
    expect(audit.events.every((e) => e.workspace === 'team-a')).toBe(true);
  });

  it('issues a token scoped to one service with refresh_by, only for token-auth services', async () => {
    const noToken = await failure(
      call(
        teamA.deployer.webservices,
        teamA.deployer.webservices.getWebserviceToken,
        { workspace: 'team-a', name: 'iris' },
        teamA.deployer.metadata,
      ),
    );
    expect(noToken.code).toBe(status.FAILED_PRECONDITION);
    await deploy(
      teamA.deployer,
      'tokens',
      spec({ deploymentConfig: { ...spec().deploymentConfig!, tokenAuthEnabled: true } }),
    );
    const token = await call(
      teamA.deployer.webservices,
      teamA.deployer.webservices.getWebserviceToken,
      { workspace: 'team-a', name: 'tokens' },
      teamA.deployer.metadata,
    );
    expect(token.tokenType).toBe('Bearer');
    const claims = JSON.parse(
      Buffer.from(token.accessToken.split('.')[1]!, 'base64url').toString(),
    ) as { aud: string; exp: number };
    expect(claims.aud).toBe('skiff:service:team-a/tokens');
    expect(token.refreshBy?.getTime()).toBe(claims.exp * 1000);
  });

  it('keeps workspaces apart: another team sees NOT_FOUND and never the name of the other workspace', async () => {
    const error = await failure(get(teamB.deployer, 'iris', 'team-a'));
    expect(error.code).toBe(status.NOT_FOUND);
    const own = await failure(get(teamB.deployer, 'iris', 'team-b'));
    expect(own.code).toBe(status.NOT_FOUND);
    expect(own.details).toBe("webservice 'iris' not found");
    const list = await call(
      teamB.deployer.webservices,
      teamB.deployer.webservices.listWebservices,
      { workspace: '', compute: '', modelName: '', pageSize: 0, pageToken: '' },
      teamB.deployer.metadata,
    );
    expect(list.webservices).toEqual([]);
  });

  it.each([
    ['no credential', undefined, status.UNAUTHENTICATED],
    ['a bad credential', 'skf_000000000000000000000000_' + 'a'.repeat(43), status.UNAUTHENTICATED],
  ])('answers %s with UNAUTHENTICATED', async (_what, token, code) => {
    const clients = harness.clients(token);
    expect((await failure(get(clients, 'iris'))).code).toBe(code);
  });

  it('lets readers read but not deploy, delete or see keys (PERMISSION_DENIED)', async () => {
    expect((await get(teamA.reader, 'iris')).webservice?.name).toBe('iris');
    expect((await failure(deploy(teamA.reader, 'other'))).code).toBe(status.PERMISSION_DENIED);
    const keys = call(
      teamA.reader.webservices,
      teamA.reader.webservices.getWebserviceKeys,
      { workspace: 'team-a', name: 'iris' },
      teamA.reader.metadata,
    );
    expect((await failure(keys)).code).toBe(status.PERMISSION_DENIED);
  });

  const invalid: Array<[string, () => Parameters<typeof deploy>, string]> = [
    ['a name that is not a DNS label', () => [teamA.deployer, 'Bad_Name'], 'name'],
    ['a two-letter name', () => [teamA.deployer, 'ab'], 'name'],
    [
      'no entry script',
      () => [
        teamA.deployer,
        'svc-a',
        spec({
          inferenceConfig: { entryScript: '', runtime: '', sourceDirectory: '', description: '' },
        }),
      ],
      'entry_script',
    ],
    [
      'an entry script outside the source',
      () => [
        teamA.deployer,
        'svc-a',
        spec({
          inferenceConfig: {
            entryScript: '../x.py',
            runtime: '',
            sourceDirectory: '',
            description: '',
          },
        }),
      ],
      'entry_script',
    ],
    [
      'targetUtilization 150',
      () => [
        teamA.deployer,
        'svc-a',
        spec({
          deploymentConfig: { ...spec().deploymentConfig!, autoScaler: { targetUtilization: 150 } },
        }),
      ],
      'autoScaler.targetUtilization',
    ],
    [
      'min above max',
      () => [
        teamA.deployer,
        'svc-a',
        spec({
          deploymentConfig: {
            ...spec().deploymentConfig!,
            autoScaler: { minReplicas: 5, maxReplicas: 2 },
          },
        }),
      ],
      'minReplicas',
    ],
    [
      'key and token auth together',
      () => [
        teamA.deployer,
        'svc-a',
        spec({
          deploymentConfig: {
            ...spec().deploymentConfig!,
            authEnabled: true,
            tokenAuthEnabled: true,
          },
        }),
      ],
      'tokenAuthEnabled',
    ],
    ['no compute target', () => [teamA.deployer, 'svc-a', spec({ compute: '' })], 'spec.compute'],
    [
      '1,001 models',
      () => [
        teamA.deployer,
        'svc-a',
        spec({ models: Array.from({ length: 1001 }, (_, i) => ({ name: `m${i}`, version: 1 })) }),
      ],
      'spec.models',
    ],
  ];
  it.each(invalid)(
    'rejects %s with INVALID_ARGUMENT naming the field',
    async (_what, args, field) => {
      const error = await failure(deploy(...args()));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.details).toContain(field);
    },
  );

  it.each([
    ['an unknown compute target', spec({ compute: 'nope' }), "compute target 'nope' not found"],
    [
      'an unregistered model',
      spec({ models: [{ name: 'ghost', version: 0 }] }),
      "model 'ghost' not found",
    ],
    [
      'a snapshot never uploaded',
      spec({ snapshotDigest: 'sha256:' + 'e'.repeat(64) }),
      'not found',
    ],
  ])('answers NOT_FOUND for %s', async (_what, s, message) => {
    const error = await failure(deploy(teamA.deployer, 'svc-b', s));
    expect(error.code).toBe(status.NOT_FOUND);
    expect(error.details).toContain(message);
  });

  it('deletes: Deleting until the delete job completes, then gone', async () => {
    const deleted = await call(
      teamA.deployer.webservices,
      teamA.deployer.webservices.deleteWebservice,
      { workspace: 'team-a', name: 'tokens' },
      teamA.deployer.metadata,
    );
    expect(deleted.operationId).toMatch(/^delete\.team-a\.tokens\./);
    let code: number | undefined;
    for (let i = 0; i < 100 && code !== status.NOT_FOUND; i++) {
      code = await get(teamA.reader, 'tokens').then(
        () => status.OK,
        (e: { code: number }) => e.code,
      );
      if (code !== status.NOT_FOUND) await new Promise((r) => setTimeout(r, 50));
    }
    expect(code).toBe(status.NOT_FOUND);
    expect(agentSeen()).toContain('delete tokens 1');
  });

  it('serves health checks without credentials and metrics over HTTP', async () => {
    const response = await fetch(`http://${harness.controlPlane.server.httpAddress}/metrics`);
    const text = await response.text();
    expect(text).toContain(
      'grpc_server_handled_total{grpc_method="/skiff.v1.WebserviceService/GetWebservice",grpc_code="OK"}',
    );
    expect((await fetch(`http://${harness.controlPlane.server.httpAddress}/readyz`)).status).toBe(
      200,
    );
  });
});

export type { Metadata };

describe('server streams that fail', () => {
  it('end with their status instead of hanging (unknown service → NOT_FOUND)', async () => {
    const redis = isolatedRedis();
    const harness = await startHarness({ redisUrl: redis.url, prefix: redis.prefix });
    try {
      const team = await harness.team('team-a');
      const code = (stream: NodeJS.EventEmitter) =>
        new Promise<number>((resolve) => {
          stream.on('data', () => undefined);
          stream.on('error', (error: { code: number }) => resolve(error.code));
          stream.on('end', () => resolve(-1));
        });
      const logs = team.reader.webservices.getWebserviceLogs(
        { workspace: 'team-a', name: 'nosuch', tail: 0, follow: true, replica: '', afterId: '' },
        team.reader.metadata,
      );
      expect(await code(logs)).toBe(status.NOT_FOUND);
      const watch = team.reader.webservices.watchDeployment(
        { workspace: 'team-a', name: 'nosuch', generation: 0, afterSequence: 0 },
        team.reader.metadata,
      );
      expect(await code(watch)).toBe(status.NOT_FOUND);
    } finally {
      await harness.stop();
      await redis.cleanup();
    }
  });
});
