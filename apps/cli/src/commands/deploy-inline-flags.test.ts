// The v1 inline flags of `skiff model deploy` / `skiff service update` (`--es`, `--cc`, `--ma`,
// ...), through the real CLI against a real control plane: what the service stores is what the
// files would have said.
import { cp as copy, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { snapshotDigest } from '@skiff/hashing';
import { Role } from '@skiff/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runSkiff,
  startControlPlaneProcess,
  type ControlPlaneProcess,
} from '../test-support/control-plane.js';

const fixtureProject = fileURLToPath(
  new URL('../../../../libs/config/test-fixtures/project', import.meta.url),
);

describe('inline flags of model deploy and service update', () => {
  let cp: ControlPlaneProcess;
  let project: string;
  let env: Record<string, string>;
  const skiff = (argv: string[], cwd = project) => runSkiff(argv, env, cwd);
  const show = async (name: string) =>
    JSON.parse((await skiff(['service', 'show', '-n', name, '-o', 'json'])).out);

  beforeAll(async () => {
    cp = await startControlPlaneProcess();
    project = await mkdtemp(join(tmpdir(), 'skiff-cli-inline-'));
    await copy(fixtureProject, project, { recursive: true });
    const admin = {
      SKIFF_ENDPOINT: cp.endpoint,
      SKIFF_WORKSPACE: 'team-i',
      SKIFF_TOKEN: await cp.team('team-i', Role.ROLE_ADMIN),
    };
    // No agent: deployments stay queued, which is all these tests look at.
    const attached = await runSkiff(['compute', 'attach', '-n', 'idle', '--kind', 'local'], admin);
    expect(attached.err).toBe('');
    env = { ...admin, SKIFF_TOKEN: await cp.team('team-i', Role.ROLE_DEPLOYER) };
  }, 60_000);
  afterAll(async () => {
    await cp?.stop();
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('deploys with inline flags only, no --ic/--dc', async () => {
    const source = join(project, 'source');
    const run = await skiff(
      [
        'model',
        'deploy',
        '-n',
        'svc-inline',
        '--es',
        'score.py',
        '--sd',
        '.',
        '--rt',
        'python',
        '--cf',
        'myenv.yml',
        '--ct',
        'idle',
        '--cc',
        '0.25',
        '--gb',
        '2',
        '--ma',
        '3',
        '--token-auth-enabled',
        '--tag',
        'team=a',
        '--tag',
        'stage=dev',
        '--no-wait',
      ],
      source,
    );
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const shown = await show('svc-inline');
    const snapshot = await snapshotDigest(source);
    expect(shown.spec).toMatchObject({
      compute: 'idle',
      snapshotDigest: snapshot.digest,
      inferenceConfig: { entryScript: 'score.py', runtime: 'python', sourceDirectory: '.' },
      deploymentConfig: {
        computeType: 'COMPUTE_TYPE_AKS',
        containerResourceRequirements: { cpu: 0.25, memoryInGb: 2 },
        autoScaler: { autoscaleEnabled: true, minReplicas: 1, maxReplicas: 3 },
        tokenAuthEnabled: true,
        tags: { team: 'a', stage: 'dev' },
      },
    });
    expect(shown.spec.deploymentConfig.authEnabled ?? false).toBe(false);
    expect(shown.spec.inferenceConfig.environment.python.condaDependencies).toBe(
      await readFile(join(source, 'myenv.yml'), 'utf8'),
    );
  });

  it('a flag overrides the file field; the rest of the file stays', async () => {
    const run = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-over',
      '--ic',
      'inferenceconfig.json',
      '--dc',
      'deploymentconfig.json',
      '--ct',
      'idle',
      '--ma',
      '9',
      '--cc',
      '1.5',
      '--es',
      'score.py',
      '--no-wait',
    ]);
    expect(run.err).toBe('');
    const shown = await show('svc-over');
    // deploymentconfig.json: minReplicas 2, maxReplicas 4, cpu 0.5, memoryInGB 1.
    expect(shown.spec.deploymentConfig.autoScaler).toMatchObject({
      minReplicas: 2,
      maxReplicas: 9,
    });
    expect(shown.spec.deploymentConfig.containerResourceRequirements).toMatchObject({
      cpu: 1.5,
      memoryInGb: 1,
    });
    expect(shown.spec.inferenceConfig).toMatchObject({
      entryScript: 'score.py',
      sourceDirectory: 'source',
    });
  });

  it('service update --ma 5 changes only the maximum replica count', async () => {
    const before = await show('svc-over');
    const run = await skiff(['service', 'update', '-n', 'svc-over', '--ma', '5', '--no-wait']);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const after = await show('svc-over');
    expect(after.generation).toBe(before.generation + 1);
    const expected = structuredClone(before.spec);
    expected.deploymentConfig.autoScaler.maxReplicas = 5;
    expect(after.spec).toEqual(expected);
  });

  it('service update --tag adds to the service tags', async () => {
    const run = await skiff([
      'service',
      'update',
      '-n',
      'svc-inline',
      '--tag',
      'owner=bo',
      '--no-wait',
    ]);
    expect(run.err).toBe('');
    const after = await show('svc-inline');
    expect(after.spec.deploymentConfig.tags).toEqual({ team: 'a', stage: 'dev', owner: 'bo' });
  });
});
