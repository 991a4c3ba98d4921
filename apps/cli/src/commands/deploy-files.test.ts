// The config files of `skiff model deploy` and `skiff service update` are read and checked
// before the control plane is contacted: pointed at a loopback port nobody listens on, a broken
// file is what the user hears about, not the connection.
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSkiff } from '../test-support/control-plane.js';

const fixtureProject = fileURLToPath(
  new URL('../../../../libs/config/test-fixtures/project', import.meta.url),
);

describe('deploying commands read their files before contacting the control plane', () => {
  let project: string;
  let env: Record<string, string>;
  const skiff = (argv: string[]) => runSkiff(argv, env, project);

  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'skiff-cli-deploy-files-'));
    await cp(fixtureProject, project, { recursive: true });
    await writeFile(
      join(project, 'bad.yml'),
      'computeType: aks\nautoScaler:\n  maxReplicas: 0\nnumReplicas: 0\n',
    );
    await writeFile(join(project, 'no-compute.yml'), 'computeType: aks\n');
    // Nothing listens there: the port was free a moment ago and is never bound.
    const closed = await freePort();
    env = {
      SKIFF_ENDPOINT: `127.0.0.1:${closed}`,
      SKIFF_WORKSPACE: 'team-s',
      SKIFF_TOKEN: `skf_${'0'.repeat(24)}_${'A'.repeat(43)}`,
      SKIFF_CONFIG_DIR: project,
    };
  });
  afterAll(async () => {
    await rm(project, { recursive: true, force: true });
  });

  const BAD_DC = [
    'bad.yml: autoScaler.maxReplicas: expected an integer >= 1, got 0',
    'bad.yml: numReplicas: expected an integer greater than zero (Azure ML v1 refused it too: a service needs a replica to answer; leave numReplicas unset to autoscale), got 0',
  ];

  it('model deploy reports a bad deployment configuration, not the unreachable endpoint', async () => {
    const run = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-a',
      '--ic',
      'inferenceconfig.json',
      '--dc',
      'bad.yml',
      '--ct',
      'aks1',
    ]);
    expect(run.err.trimEnd().split('\n')).toEqual(BAD_DC);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
  });

  it('model deploy reports a missing entry script the same way', async () => {
    await writeFile(
      join(project, 'ic-missing.json'),
      JSON.stringify({ entryScript: 'nope.py', sourceDirectory: 'source' }),
    );
    const run = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-a',
      '--ic',
      'ic-missing.json',
      '--dc',
      'deploymentconfig.json',
      '--ct',
      'aks1',
    ]);
    expect(run.err).toBe(
      `ic-missing.json: entryScript: no such file: ${join(project, 'source/nope.py')}\n`,
    );
    expect(run.code).toBe(1);
  });

  it('model deploy without --ct and without computeTargetName is a usage error, found offline', async () => {
    const run = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-a',
      '--ic',
      'inferenceconfig.json',
      '--dc',
      'no-compute.yml',
    ]);
    expect(run.err).toBe(
      'skiff: no compute target: pass --ct <name>, or set computeTargetName in no-compute.yml\n',
    );
    expect(run.code).toBe(2);
  });

  it('service update reports a bad deployment configuration, not the unreachable endpoint', async () => {
    const run = await skiff(['service', 'update', '-n', 'svc-a', '--dc', 'bad.yml']);
    expect(run.err.trimEnd().split('\n')).toEqual(BAD_DC);
    expect(run.code).toBe(1);
  });

  it('model deploy refuses a bad inline flag value, naming the flag, before any connection', async () => {
    const run = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-a',
      '--ic',
      'inferenceconfig.json',
      '--ct',
      'aks1',
      '--cc',
      'lots',
      '--ma',
      '0',
    ]);
    expect(run.err.trimEnd().split('\n')).toEqual([
      '--ma/--autoscale-max-replicas (autoScaler.maxReplicas): expected an integer >= 1, got 0',
      '--cc/--cpu-cores (containerResourceRequirements.cpu): expected a number > 0, got "lots"',
    ]);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
  });

  it('model deploy with inline flags only names the flag of a missing entry script', async () => {
    const run = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-a',
      '--es',
      'nope.py',
      '--sd',
      'source',
      '--ct',
      'aks1',
    ]);
    expect(run.err).toBe(
      `--es/--entry-script (entryScript): no such file: ${join(project, 'source/nope.py')}\n`,
    );
    expect(run.code).toBe(1);
  });

  it('service update refuses a bad inline flag value before any connection', async () => {
    const run = await skiff(['service', 'update', '-n', 'svc-a', '--nr', '0']);
    expect(run.err).toMatch(
      /^--nr\/--num-replicas \(numReplicas\): expected an integer greater than zero/,
    );
    expect(run.code).toBe(1);
  });

  it('with good files, the unreachable endpoint is what fails', async () => {
    const run = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-a',
      '--ic',
      'inferenceconfig.json',
      '--dc',
      'deploymentconfig.json',
      '--ct',
      'aks1',
      '--no-wait',
    ]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/^skiff: UNAVAILABLE: /);
  }, 30_000);
});
