// The resolver against two real docker-registry processes on loopback (workspace and global),
// with the stand-in builder in place of the BuildKit Job.
import { InvalidArgumentError } from '@skiff/errors';
import { environmentHash, environmentImageTag, type EnvironmentDefinition } from '@skiff/hashing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from '@skiff/testing';
import { ImageBuildError, RegistryError } from './errors.js';
import { RegistryClient } from './registry-client.js';
import {
  describeEnvironmentImageEvent,
  EnvironmentImageResolver,
  type EnvironmentImageEvent,
  type EnvironmentImageResolverOptions,
} from './resolver.js';
import { standInImageBuilder, type StandInImageBuilder } from './test-support/stand-in-builder.js';
import { createTestImage, pushTestImage } from './test-support/test-image.js';

let global: TestRegistry;
let workspace: TestRegistry;
let lockedWorkspace: TestRegistry;

beforeAll(async () => {
  [global, workspace, lockedWorkspace] = await Promise.all([
    startTestRegistry(),
    startTestRegistry(),
    startTestRegistry({ auth: { kind: 'htpasswd', users: { alice: 'right' } } }),
  ]);
});
afterAll(async () => {
  await Promise.all([global?.stop(), workspace?.stop(), lockedWorkspace?.stop()]);
});

const dockerfile = { scoringRuntimeImage: 'registry.skiff.test/skiff/scoring-runtime:0.1.0' };
let counter = 0;
const unique = () => `${process.pid}-${++counter}`;

/** A fresh environment (and hash) per test, so tests never see each other's images. */
function environment(): {
  env: EnvironmentDefinition;
  hash: ReturnType<typeof environmentHash>;
  tag: string;
} {
  const env = {
    baseImage: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04',
    condaDependencies: `dependencies: [python=3.10, skiff-test-${unique()}]\n`,
  };
  const hash = environmentHash(env);
  return { env, hash, tag: environmentImageTag(hash) };
}

interface Setup {
  resolver: EnvironmentImageResolver;
  builder: StandInImageBuilder;
  workspaceClient: RegistryClient;
  globalClient: RegistryClient;
  workspaceRepository: string;
  globalRepository: string;
}

async function setup(overrides: Partial<EnvironmentImageResolverOptions> = {}): Promise<Setup> {
  const workspaceRepository = `team-${unique()}/environments`;
  const globalRepository = `skiff-global-${unique()}/environments`;
  const workspaceClient = await RegistryClient.connect({ registry: workspace.registry });
  const globalClient = await RegistryClient.connect({ registry: global.registry });
  const builder = standInImageBuilder(workspaceClient);
  const resolver = new EnvironmentImageResolver({
    workspace: { registry: workspace.registry, repository: workspaceRepository },
    global: { registry: global.registry, repository: globalRepository },
    builder,
    dockerfile,
    ...overrides,
  });
  return {
    resolver,
    builder,
    workspaceClient,
    globalClient,
    workspaceRepository,
    globalRepository,
  };
}

function recorder(): {
  events: EnvironmentImageEvent[];
  onProgress: (event: EnvironmentImageEvent) => void;
} {
  const events: EnvironmentImageEvent[] = [];
  return { events, onProgress: (event) => events.push(event) };
}

describe('EnvironmentImageResolver', () => {
  it('uses the image the workspace registry already has, pinned by digest', async () => {
    const s = await setup();
    const { env, hash, tag } = environment();
    const digest = await pushTestImage(
      s.workspaceClient,
      s.workspaceRepository,
      tag,
      createTestImage(),
    );
    const progress = recorder();

    const result = await s.resolver.resolve(hash, env, progress);

    expect(result).toEqual({
      image: `${workspace.registry}/${s.workspaceRepository}@${digest}`,
      taggedImage: `${workspace.registry}/${s.workspaceRepository}:${tag}`,
      tag,
      digest,
      source: 'workspace',
    });
    expect(progress.events).toEqual([
      { step: 'lookup-workspace', outcome: 'hit', image: result.taggedImage },
    ]);
    expect(s.builder.requests).toHaveLength(0);
  });

  it('copies an image found only in the global registry, and finds it in the workspace next time', async () => {
    const s = await setup();
    const { env, hash, tag } = environment();
    const digest = await pushTestImage(s.globalClient, s.globalRepository, tag, createTestImage());
    const first = recorder();

    const copied = await s.resolver.resolve(hash, env, first);

    const globalImage = `${global.registry}/${s.globalRepository}:${tag}`;
    expect(copied).toMatchObject({
      digest,
      source: 'global',
      image: `${workspace.registry}/${s.workspaceRepository}@${digest}`,
    });
    expect(first.events.map(describeEnvironmentImageEvent)).toEqual([
      `environment image not in the workspace registry: ${copied.taggedImage}`,
      `environment image found in the global registry: ${globalImage}`,
      `copying the environment image from ${globalImage} to ${copied.taggedImage}`,
      `copied the environment image to ${copied.taggedImage} (0 blobs mounted, 2 uploaded, 0 already there)`,
    ]);
    expect((await s.workspaceClient.headManifest(s.workspaceRepository, tag))?.digest).toBe(digest);

    const second = recorder();
    expect(await s.resolver.resolve(hash, env, second)).toEqual({ ...copied, source: 'workspace' });
    expect(second.events.map((e) => [e.step, 'outcome' in e ? e.outcome : ''])).toEqual([
      ['lookup-workspace', 'hit'],
    ]);
    expect(s.builder.requests).toHaveLength(0);
  });

  it('builds an image found nowhere exactly once; a second resolve finds it in the workspace', async () => {
    const s = await setup();
    const { env, hash, tag } = environment();
    const first = recorder();

    const built = await s.resolver.resolve(hash, env, first);

    expect(built.source).toBe('built');
    expect(first.events.map((e) => e.step)).toEqual([
      'lookup-workspace',
      'lookup-global',
      'building',
      'built',
    ]);
    expect(s.builder.requests).toHaveLength(1);
    const request = s.builder.requests[0]!;
    expect(request).toMatchObject({
      environmentHash: hash,
      image: `${workspace.registry}/${s.workspaceRepository}:${tag}`,
      destination: {
        registry: workspace.registry,
        repository: s.workspaceRepository,
        tag,
        insecure: true,
      },
    });
    expect(request.context.dockerfile).toContain(`LABEL io.skiff.environment-hash="${hash}"`);
    expect(Object.keys(request.context.files)).toEqual(['conda-environment.yml']);
    expect((await s.workspaceClient.headManifest(s.workspaceRepository, tag))?.digest).toBe(
      built.digest,
    );

    const second = await s.resolver.resolve(hash, env);
    expect(second).toEqual({ ...built, source: 'workspace' });
    // Another resolver (another control plane) for the same workspace never builds either.
    const other = await setup({
      workspace: { registry: workspace.registry, repository: s.workspaceRepository },
      builder: s.builder,
    });
    expect((await other.resolver.resolve(hash, env)).source).toBe('workspace');
    expect(s.builder.requests).toHaveLength(1);
  });

  it('runs one build for concurrent resolves of one environment, and tells each caller every step', async () => {
    const s = await setup();
    const { env, hash } = environment();
    let open!: () => void;
    s.builder.gate = new Promise((resolve) => (open = resolve));
    const first = recorder();
    const second = recorder();

    const a = s.resolver.resolve(hash, env, first);
    await expect.poll(() => s.builder.requests.length).toBe(1);
    const b = s.resolver.resolve(hash, env, second);
    open();
    const [resultA, resultB] = await Promise.all([a, b]);

    expect(resultB).toEqual(resultA);
    expect(s.builder.requests).toHaveLength(1);
    expect(second.events).toEqual(first.events);
    expect(second.events.map((e) => e.step)).toEqual([
      'lookup-workspace',
      'lookup-global',
      'building',
      'built',
    ]);
  });

  it('reports a failed build with the end of its log, and builds again on the next resolve', async () => {
    const s = await setup();
    const { env, hash, tag } = environment();
    s.builder.behaviour = 'fail';

    const error = await s.resolver.resolve(hash, env).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ImageBuildError);
    expect((error as Error).message).toBe(
      [
        `ImageBuildFailed: ${workspace.registry}/${s.workspaceRepository}:${tag}: the build job failed`,
        'last lines of the build log:',
        '#1 [internal] load build definition from Dockerfile',
        '#5 [2/4] RUN conda env create ...',
        'ResolvePackageNotFound: numpy=0.0.0',
        'ERROR: process "/bin/sh -c conda env create" did not complete successfully: exit code: 1',
      ].join('\n'),
    );
    s.builder.behaviour = 'push';
    expect((await s.resolver.resolve(hash, env)).source).toBe('built');
    expect(s.builder.requests).toHaveLength(2);
  });

  it('fails the build when the builder reports success but the image is not in the workspace registry', async () => {
    const s = await setup();
    const { env, hash, tag } = environment();
    s.builder.behaviour = 'forget-to-push';

    const error = await s.resolver.resolve(hash, env).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ImageBuildError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^ImageBuildFailed: .*:${tag}: the build finished but .* is not in the workspace registry \\(did the build push it\\?\\)\\nlast lines of the build log:\\n`,
      ),
    );
  });

  it('mounts the blobs when the global repository is in the workspace registry', async () => {
    const s = await setup();
    const { env, hash, tag } = environment();
    const sharedRepository = `skiff-global-${unique()}/environments`;
    await pushTestImage(s.workspaceClient, sharedRepository, tag, createTestImage());
    const resolver = new EnvironmentImageResolver({
      workspace: { registry: workspace.registry, repository: s.workspaceRepository },
      global: { registry: workspace.registry, repository: sharedRepository },
      builder: s.builder,
      dockerfile,
    });
    const progress = recorder();

    expect((await resolver.resolve(hash, env, progress)).source).toBe('global');
    expect(progress.events.find((e) => e.step === 'copied')).toMatchObject({
      stats: { blobsMounted: 2, blobsUploaded: 0 },
    });
  });

  it('says which registry refused which credentials', async () => {
    const { env, hash } = environment();
    const builder = standInImageBuilder(
      await RegistryClient.connect({ registry: workspace.registry }),
    );
    const resolver = new EnvironmentImageResolver({
      workspace: {
        registry: lockedWorkspace.registry,
        repository: 'team-a/environments',
        credentials: { kind: 'basic', username: 'alice', password: 'wrong' },
      },
      builder,
      dockerfile,
    });

    const error = await resolver.resolve(hash, env).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^RegistryUnauthorized: workspace registry ${lockedWorkspace.registry} answered 401 for repository team-a/environments \\(HEAD manifest v1-[0-9a-f]{64}\\) as user "alice": check the registry's username and password$`,
      ),
    );
    expect(builder.requests).toHaveLength(0);
  });

  it('refuses a hash that is not the environment’s', async () => {
    const s = await setup();
    const { env } = environment();
    const other = environment();
    await expect(s.resolver.resolve(other.hash, env)).rejects.toThrow(InvalidArgumentError);
    await expect(s.resolver.resolve(other.hash, env)).rejects.toThrow(
      /is not the hash of the environment given/,
    );
  });

  it('stops the build once every caller has given up', async () => {
    const s = await setup();
    const { env, hash } = environment();
    s.builder.gate = new Promise(() => undefined); // never finishes on its own
    const caller = new AbortController();

    const pending = s.resolver.resolve(hash, env, { signal: caller.signal });
    await expect.poll(() => s.builder.requests.length).toBe(1);
    caller.abort(new Error('deployment cancelled'));

    await expect(pending).rejects.toThrow('deployment cancelled');
    expect(s.builder.requests[0]?.signal?.aborted).toBe(true);
  });

  it('starts nothing for a caller that has already given up', async () => {
    const s = await setup();
    const { env, hash } = environment();
    const progress = recorder();
    const pending = s.resolver.resolve(hash, env, {
      signal: AbortSignal.abort(new Error('gone')),
      ...progress,
    });
    expect(s.resolver.inFlight).toBe(0);
    await expect(pending).rejects.toThrow('gone');
    expect(progress.events).toEqual([]);
    const resolving = s.resolver.resolve(hash, env);
    expect(s.resolver.inFlight).toBe(1);
    expect((await resolving).source).toBe('built');
    expect(s.resolver.inFlight).toBe(0);
  });

  it('refuses a malformed repository before any request', () => {
    expect(
      () =>
        new EnvironmentImageResolver({
          workspace: { registry: workspace.registry, repository: 'Team A/envs' },
          builder: standInImageBuilder({} as RegistryClient),
          dockerfile,
        }),
    ).toThrow(/^workspace\.repository: expected a repository path like "skiff\/environments"/);
  });
});
