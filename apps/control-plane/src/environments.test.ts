import { rm } from 'node:fs/promises';
import { credentials, status } from '@grpc/grpc-js';
import {
  EnvironmentServiceClient,
  WebserviceSpec,
  type Environment,
  type GetEnvironmentRequest,
  type GetEnvironmentResponse,
  type ListEnvironmentsRequest,
  type ListEnvironmentsResponse,
  type RegisterEnvironmentRequest,
  type RegisterEnvironmentResponse,
} from '@skiff/proto';
import { isolatedRedis, startRedisServer, type IsolatedRedis } from '@skiff/testing';
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

const CONDA =
  'name: project\ndependencies:\n  - python=3.11\n  - pip:\n    - scikit-learn==1.5.0\n';

const definition = (overrides: Partial<Environment> = {}): Environment => ({
  name: 'ignored',
  version: '7',
  docker: {
    baseImage: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04',
    baseDockerfile: '',
    enabled: true,
    arguments: [],
    shmSize: '',
  },
  python: {
    condaDependencies: CONDA,
    userManagedDependencies: false,
    interpreterPath: 'python',
    baseCondaEnvironment: '',
  },
  environmentVariables: { EXAMPLE: '1' },
  extraDockerfileSteps: '',
  pipRequirements: '',
  enableGpu: false,
  cudaVersion: '',
  inferencingStackVersion: '',
  ...overrides,
});

/** The EnvironmentService as `clients`' credential calls it. */
function environments(harness: Harness, clients: Clients) {
  const client = new EnvironmentServiceClient(harness.address, credentials.createInsecure());
  return {
    close: () => client.close(),
    register: (name: string, env: Environment | null = definition(), workspace = 'team-a') =>
      call<RegisterEnvironmentRequest, RegisterEnvironmentResponse>(
        client,
        client.registerEnvironment,
        { workspace, name, definition: env ?? undefined },
        clients.metadata,
      ),
    get: (name: string, version = 0, workspace = 'team-a') =>
      call<GetEnvironmentRequest, GetEnvironmentResponse>(
        client,
        client.getEnvironment,
        { workspace, name, version },
        clients.metadata,
      ),
    list: (request: { name?: string; latestOnly?: boolean; workspace?: string } = {}) =>
      call<ListEnvironmentsRequest, ListEnvironmentsResponse>(
        client,
        client.listEnvironments,
        {
          workspace: request.workspace ?? 'team-a',
          name: request.name ?? '',
          latestOnly: request.latestOnly ?? false,
          pageSize: 0,
          pageToken: '',
        },
        clients.metadata,
      ),
  };
}

describe('EnvironmentService on a real control plane', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let teamA: Awaited<ReturnType<Harness['team']>>;
  let teamB: Awaited<ReturnType<Harness['team']>>;
  let api: Record<
    'deployer' | 'reader' | 'admin' | 'other' | 'anonymous',
    ReturnType<typeof environments>
  >;

  const deploy = (name: string, spec: WebserviceSpec, overwrite = false) =>
    call(
      teamA.deployer.webservices,
      teamA.deployer.webservices.deployWebservice,
      { workspace: 'team-a', name, spec, overwrite },
      teamA.deployer.metadata,
    );
  const service = async (name: string) =>
    (
      await call(
        teamA.reader.webservices,
        teamA.reader.webservices.getWebservice,
        { workspace: 'team-a', name },
        teamA.reader.metadata,
      )
    ).webservice!;
  /** A minimal spec using registered environment `name` (version 0: the latest). */
  const byReference = (name: string, version = 0, environment?: Environment): WebserviceSpec =>
    minimalSpec({
      inferenceConfig: {
        entryScript: 'score.py',
        runtime: '',
        sourceDirectory: '',
        description: '',
        environmentReference: { name, version },
        ...(environment ? { environment } : {}),
      },
    });

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({ redisUrl: redis.url, prefix: redis.prefix });
    teamA = await harness.team('team-a');
    teamB = await harness.team('team-b');
    await attachCompute(teamA.admin, 'team-a');
    api = {
      deployer: environments(harness, teamA.deployer),
      reader: environments(harness, teamA.reader),
      admin: environments(harness, teamA.admin),
      other: environments(harness, teamB.admin),
      anonymous: environments(harness, harness.clients(undefined)),
    };
  });
  afterAll(async () => {
    for (const client of Object.values(api ?? {})) client.close();
    await harness.stop();
    await redis.cleanup();
  });

  it('registers versions per name, idempotently for the same definition', async () => {
    const first = await api.deployer.register('sklearn');
    expect(first.created).toBe(true);
    expect(first.environment).toMatchObject({
      workspace: 'team-a',
      name: 'sklearn',
      version: 1,
      // The registration's name and version, not the file's.
      definition: { name: 'sklearn', version: '1', python: { condaDependencies: CONDA } },
      environmentHash: expect.stringMatching(/^sha256:v1:[0-9a-f]{64}$/),
    });
    expect(first.environment?.createdBy).not.toBe('');

    const again = await api.deployer.register('sklearn', definition({ name: 'other-file-name' }));
    expect([again.created, again.environment?.version]).toEqual([false, 1]);

    const changed = await api.deployer.register(
      'sklearn',
      definition({ extraDockerfileSteps: 'RUN echo hi\n' }),
    );
    expect([changed.created, changed.environment?.version]).toEqual([true, 2]);
    expect(changed.environment?.environmentHash).not.toBe(first.environment?.environmentHash);

    expect((await api.reader.get('sklearn')).environment?.version).toBe(2);
    expect((await api.reader.get('sklearn', 1)).environment?.environmentHash).toBe(
      first.environment?.environmentHash,
    );
    await api.deployer.register('torch', definition({ enableGpu: true }));
    const all = await api.reader.list();
    expect(all.environments.map((e) => `${e.name}:${e.version}`)).toEqual([
      'sklearn:1',
      'sklearn:2',
      'torch:1',
    ]);
    const latest = await api.reader.list({ latestOnly: true });
    expect(latest.environments.map((e) => `${e.name}:${e.version}`)).toEqual([
      'sklearn:2',
      'torch:1',
    ]);
    // Defaults are filled as for an inline environment: the GPU base image.
    expect(latest.environments[1]?.definition?.docker?.baseImage).toBe(
      'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04',
    );
  });

  it('refuses invalid requests with INVALID_ARGUMENT naming the field', async () => {
    const cases: [() => Promise<unknown>, string][] = [
      [() => api.deployer.register('no/slash'), 'name'],
      [() => api.deployer.register('AzureML-sklearn'), 'name'],
      [() => api.deployer.register('sklearn', null), 'definition'],
      [
        () =>
          api.deployer.register(
            'broken',
            definition({
              python: {
                condaDependencies: 'dependencies: [unclosed',
                userManagedDependencies: false,
                interpreterPath: '',
                baseCondaEnvironment: '',
              },
            }),
          ),
        'definition.python.conda_dependencies',
      ],
      [() => api.reader.get('sklearn', -1), 'version'],
      [() => api.reader.get(''), 'name'],
      [() => api.reader.list({ name: '..' }), 'name'],
    ];
    for (const [attempt, field] of cases) {
      const error = await failure(attempt());
      expect([error.code, error.details]).toEqual([
        status.INVALID_ARGUMENT,
        expect.stringContaining(field),
      ]);
      expect(error.metadata.get('skiff-field')[0]).toBe(field);
    }
    expect((await api.reader.list({ name: 'broken' })).environments).toEqual([]);
  });

  it('needs a credential, the deployer role to register, and hides other workspaces', async () => {
    for (const attempt of [
      () => api.anonymous.register('sklearn'),
      () => api.anonymous.get('sklearn'),
      () => api.anonymous.list(),
    ]) {
      expect((await failure(attempt())).code).toBe(status.UNAUTHENTICATED);
    }
    expect((await failure(api.reader.register('sklearn'))).code).toBe(status.PERMISSION_DENIED);
    expect((await failure(api.reader.get('missing'))).code).toBe(status.NOT_FOUND);
    // Team B naming team A's workspace is told what a missing one would tell it.
    for (const attempt of [
      () => api.other.register('sklearn'),
      () => api.other.get('sklearn'),
      () => api.other.list(),
    ]) {
      const error = await failure(attempt());
      expect(error.code).toBe(status.NOT_FOUND);
      expect(error.details).not.toContain('sklearn');
    }
    // In its own workspace team B has no 'sklearn'.
    expect((await failure(api.other.get('sklearn', 0, 'team-b'))).code).toBe(status.NOT_FOUND);
  });

  it('deploys a referenced environment: the registered definition and its hash, pinned to the version', async () => {
    const registered = (await api.reader.get('sklearn', 2)).environment!;
    await deploy('by-ref', byReference('sklearn'));
    const deployed = await service('by-ref');
    expect(deployed.environmentHash).toBe(registered.environmentHash);
    expect(deployed.spec?.inferenceConfig?.environmentReference).toEqual({
      name: 'sklearn',
      version: 2,
    });
    expect(deployed.spec?.inferenceConfig?.environment).toEqual(registered.definition);

    // The same definition inline hashes the same: the hash is the definition's.
    await deploy(
      'inline',
      minimalSpec({
        inferenceConfig: {
          entryScript: 'score.py',
          runtime: '',
          sourceDirectory: '',
          description: '',
          environment: definition({ extraDockerfileSteps: 'RUN echo hi\n' }),
        },
      }),
    );
    expect((await service('inline')).environmentHash).toBe(registered.environmentHash);

    // Deploying the spec read back (reference and definition both set) changes nothing.
    const again = await deploy('by-ref', deployed.spec!);
    expect(again.webservice?.generation).toBe(deployed.generation);
    const models = await call(
      teamA.deployer.webservices,
      teamA.deployer.webservices.updateWebservice,
      {
        workspace: 'team-a',
        name: 'by-ref',
        spec: WebserviceSpec.fromPartial({}),
        updateMask: ['models'],
      },
      teamA.deployer.metadata,
    );
    expect(models.webservice?.environmentHash).toBe(registered.environmentHash);

    // A new version is picked up by a reference to the latest, and only then.
    const v3 = await api.deployer.register('sklearn', definition({ cudaVersion: '11.8' }));
    const updated = await deploy('by-ref', byReference('sklearn'), true);
    expect(updated.webservice?.generation).toBe(deployed.generation + 1);
    expect(updated.webservice?.environmentHash).toBe(v3.environment?.environmentHash);
    const pinned = await deploy('by-ref', byReference('sklearn', 1), true);
    expect(pinned.webservice?.environmentHash).toBe(
      (await api.reader.get('sklearn', 1)).environment?.environmentHash,
    );
  });

  it('refuses a reference beside a different inline environment, and a missing environment', async () => {
    const both = await failure(
      deploy('both', byReference('sklearn', 1, definition({ enableGpu: true }))),
    );
    expect([both.code, both.metadata.get('skiff-field')[0]]).toEqual([
      status.INVALID_ARGUMENT,
      'spec.inference_config.environment',
    ]);
    expect(both.details).toMatch(/not both/);
    const missing = await failure(deploy('missing', byReference('nope')));
    expect([missing.code, missing.details]).toEqual([
      status.NOT_FOUND,
      expect.stringContaining("environment 'nope' not found"),
    ]);
    const badVersion = await failure(deploy('missing', byReference('sklearn', -2)));
    expect(badVersion.metadata.get('skiff-field')[0]).toBe(
      'spec.inference_config.environment_reference.version',
    );
  });
});

describe('EnvironmentService while Redis is down', () => {
  it('answers UNAVAILABLE (never INTERNAL) and works again when Redis returns', async () => {
    const server = await startRedisServer({ appendOnly: true });
    const harness = await startHarness({ redisUrl: server.url, prefix: 'skiff-env:' });
    let restarted: Awaited<ReturnType<typeof startRedisServer>> | undefined;
    const team = await harness.team('team-a');
    const api = environments(harness, team.deployer);
    try {
      await api.register('sklearn');
      await server.crash();
      for (const attempt of [
        () => api.register('torch'),
        () => api.get('sklearn'),
        () => api.list(),
      ]) {
        expect((await failure(attempt())).code).toBe(status.UNAVAILABLE);
      }
      restarted = await startRedisServer({ port: server.port, dir: server.dir, appendOnly: true });
      const found = await eventually(() => api.get('sklearn'), 100);
      expect(found.environment?.version).toBe(1);
    } finally {
      api.close();
      await harness.stop();
      await restarted?.stop();
      await rm(server.dir, { recursive: true, force: true });
    }
  });
});
