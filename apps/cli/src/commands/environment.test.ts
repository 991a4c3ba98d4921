import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Role } from '@skiff/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runSkiff,
  startControlPlaneProcess,
  type ControlPlaneProcess,
} from '../test-support/control-plane.js';

const CONDA =
  'name: project\ndependencies:\n  - python=3.11\n  - pip:\n    - scikit-learn==1.5.0\n';

/** What `az ml environment scaffold` wrote (trimmed), naming its conda file beside it. */
const SCAFFOLD = {
  name: 'testenv',
  version: null,
  environmentVariables: { EXAMPLE_ENV_VAR: 'EXAMPLE_VALUE' },
  python: {
    userManagedDependencies: false,
    interpreterPath: 'python',
    condaDependenciesFile: 'conda_dependencies.yml',
    baseCondaEnvironment: null,
  },
  docker: {
    enabled: false,
    baseImage: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04',
    baseDockerfile: null,
    sharedVolumes: true,
    shmSize: '2g',
    arguments: [],
    baseImageRegistry: { address: null, username: null, password: null },
  },
  spark: { repositories: [], packages: [], precachePackages: true },
  databricks: {
    mavenLibraries: [],
    pypiLibraries: [],
    rcranLibraries: [],
    jarLibraries: [],
    eggLibraries: [],
  },
  inferencingStackVersion: null,
};

describe('skiff environment and -e against a control plane process', () => {
  let cp: ControlPlaneProcess;
  let dir: string;
  let env: Record<string, string>;
  const skiff = (...argv: string[]) => runSkiff(argv, env, dir);
  const json = async (...argv: string[]) => {
    const run = await skiff(...argv, '-o', 'json');
    expect(run.code, run.err).toBe(0);
    return JSON.parse(run.out) as Record<string, unknown> & {
      environmentHash: string;
      spec: { inferenceConfig: { environmentReference?: unknown } };
    };
  };

  beforeAll(async () => {
    cp = await startControlPlaneProcess();
    dir = await mkdtemp(join(tmpdir(), 'skiff-cli-environment-'));
    const base = { SKIFF_ENDPOINT: cp.endpoint, SKIFF_WORKSPACE: 'team-e' };
    const attached = await runSkiff(['compute', 'attach', '-n', 'local', '--kind', 'local'], {
      ...base,
      SKIFF_TOKEN: await cp.team('team-e', Role.ROLE_ADMIN),
    });
    expect(attached.code, attached.err).toBe(0);
    env = { ...base, SKIFF_TOKEN: await cp.team('team-e', Role.ROLE_DEPLOYER) };
    await writeFile(join(dir, 'environment.yml'), CONDA);
    await mkdir(join(dir, 'myenv'));
    await writeFile(join(dir, 'myenv', 'azureml_environment.json'), JSON.stringify(SCAFFOLD));
    await writeFile(join(dir, 'myenv', 'conda_dependencies.yml'), CONDA.replace('1.5.0', '1.4.2'));
    await writeFile(
      join(dir, 'score.py'),
      'def init():\n    pass\n\ndef run(raw):\n    return raw\n',
    );
    await writeFile(join(dir, 'inferenceconfig.json'), JSON.stringify({ entryScript: 'score.py' }));
    await writeFile(
      join(dir, 'inline.json'),
      JSON.stringify({ entryScript: 'score.py', condaFile: 'myenv/conda_dependencies.yml' }),
    );
    await writeFile(
      join(dir, 'deploymentconfig.json'),
      JSON.stringify({ computeType: 'aks', numReplicas: 1 }),
    );
  });
  afterAll(async () => {
    await cp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('registers a conda file and a v1 environment directory, once per definition', async () => {
    const conda = await skiff('environment', 'register', '-n', 'sklearn', '-f', 'environment.yml');
    expect(conda.code, conda.err).toBe(0);
    expect(conda.out).toMatch(/^Registered environment sklearn:1 \(sha256:v1:[0-9a-f]{64}\)\.\n$/);
    const again = await skiff('environment', 'register', '-n', 'sklearn', '-f', 'environment.yml');
    expect(again.out).toMatch(/^Environment sklearn:1 already has this definition/);

    // v1's `az ml environment register -d DIR`: the name comes from azureml_environment.json,
    // the conda file it names is read from beside it.
    const scaffolded = await json('environment', 'register', '-d', 'myenv');
    expect(scaffolded).toMatchObject({
      name: 'testenv',
      version: 1,
      definition: {
        name: 'testenv',
        environmentVariables: { EXAMPLE_ENV_VAR: 'EXAMPLE_VALUE' },
        python: { condaDependencies: expect.stringContaining('scikit-learn==1.4.2') },
        docker: { shmSize: '2g' },
      },
    });

    const list = await skiff('environment', 'list', '--latest');
    expect(list.out.split('\n')[0]).toMatch(/^NAME +VERSION +CREATED +ENVIRONMENT HASH/);
    expect(list.out).toMatch(/\nsklearn +1 /);
    expect(list.out).toMatch(/\ntestenv +1 /);
    const show = await skiff('environment', 'show', '-n', 'sklearn:1');
    expect(show.out).toMatch(/^Name: +sklearn\nVersion: +1\nEnvironment hash: +sha256:v1:/);
  });

  it('names problems in the file before contacting the control plane', async () => {
    await writeFile(
      join(dir, 'bad.json'),
      JSON.stringify({ ...SCAFFOLD, docker: { baseImage: 'not an image' } }),
    );
    const bad = await skiff(
      'environment',
      'register',
      '-f',
      'bad.json',
      '--endpoint',
      '127.0.0.1:1',
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^bad\.json: docker\.baseImage: /);
    const unnamed = await skiff('environment', 'register', '-f', 'environment.yml');
    expect([unnamed.code, unnamed.err]).toEqual([2, expect.stringMatching(/name it with -n/)]);
    const missing = await skiff('environment', 'show', '-n', 'nope');
    expect([missing.code, missing.err]).toEqual([
      1,
      "skiff: NOT_FOUND: environment 'nope' not found\n",
    ]);
  });

  it('deploys and updates with -e: the service gets the registered environment and its hash', async () => {
    const sklearn = await json('environment', 'show', '-n', 'sklearn');
    const testenv = await json('environment', 'show', '-n', 'testenv:1');
    const deploy = (...extra: string[]) =>
      skiff(
        'model',
        'deploy',
        '-n',
        'env-svc',
        '--ct',
        'local',
        '--dc',
        'deploymentconfig.json',
        '--no-wait',
        ...extra,
      );
    const deployed = await deploy('--ic', 'inferenceconfig.json', '-e', 'sklearn');
    expect(deployed.code, deployed.err).toBe(0);
    const service = await json('service', 'show', '-n', 'env-svc');
    expect(service.environmentHash).toBe(sklearn.environmentHash);
    expect(service.spec.inferenceConfig.environmentReference).toEqual({
      name: 'sklearn',
      version: 1,
    });

    const updated = await skiff(
      'service',
      'update',
      '-n',
      'env-svc',
      '-e',
      'testenv:1',
      '--no-wait',
    );
    expect(updated.code, updated.err).toBe(0);
    expect((await json('service', 'show', '-n', 'env-svc')).environmentHash).toBe(
      testenv.environmentHash,
    );

    // An inline environment (another condaFile) and -e together are refused, as v1 refused both.
    const both = await deploy('--ic', 'inline.json', '-e', 'sklearn', '--overwrite');
    expect(both.code).toBe(1);
    expect(both.err).toMatch(
      /^skiff: INVALID_ARGUMENT: spec\.inference_config\.environment: .*not both/,
    );
    const malformed = await deploy('--ic', 'inferenceconfig.json', '-e', 'a:b:c');
    expect([malformed.code, malformed.err]).toEqual([
      2,
      expect.stringMatching(/^skiff: -e: expected NAME/),
    ]);
  });
});
