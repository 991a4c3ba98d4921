import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkDeploymentConfigFile,
  checkInferenceConfigFile,
  configFileAt,
  readDeploymentConfigFile,
  readInferenceConfigFile,
} from './config-files.js';
import { ConfigError } from './issues.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-config-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(tree: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(tree)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}
const at = (argument: string) => configFileAt(dir, argument);
const messages = (result: { ok: boolean; issues?: readonly { path: string; message: string }[] }) =>
  (result.issues ?? []).map((i) => `${i.path}: ${i.message}`);

const V1_PROJECT = {
  'project/inferenceconfig.yml': [
    'entryScript: score.py',
    'sourceDirectory: src',
    'condaFile: env/conda.yml',
    'extraDockerfileSteps: docker-steps',
    '',
  ].join('\n'),
  'project/src/score.py': 'def init(): pass\ndef run(raw): return raw\n',
  'project/src/env/conda.yml': 'dependencies:\n  - python=3.11\n',
  'project/src/docker-steps': 'RUN true\n',
};

describe('readInferenceConfigFile', () => {
  it('reads a YAML inference configuration and the files it names, relative to sourceDirectory', async () => {
    await files(V1_PROJECT);
    const loaded = await readInferenceConfigFile(at('project/inferenceconfig.yml'));
    expect(loaded.file).toEqual({
      label: 'project/inferenceconfig.yml',
      path: join(dir, 'project/inferenceconfig.yml'),
    });
    expect(loaded.paths.sourceDirectory).toBe(join(dir, 'project/src'));
    expect(loaded.paths.entryScript.resolved).toBe(join(dir, 'project/src/score.py'));
    expect(loaded.environment.condaDependencies).toBe('dependencies:\n  - python=3.11\n');
    expect(loaded.environment.extraDockerfileSteps).toBe('RUN true\n');
  });

  it('reads the same project the same way from any working directory', async () => {
    await files(V1_PROJECT);
    const fromProject = await readInferenceConfigFile(
      configFileAt(join(dir, 'project'), 'inferenceconfig.yml'),
    );
    const fromAbove = await readInferenceConfigFile(at('project/inferenceconfig.yml'));
    expect(fromProject.environment).toEqual(fromAbove.environment);
    expect(fromProject.paths).toEqual(fromAbove.paths);
  });

  it('without sourceDirectory, reads everything beside the configuration file', async () => {
    await files({
      'inferenceconfig.json': JSON.stringify({ entryScript: 'score.py', condaFile: 'conda.yml' }),
      'score.py': '',
      'conda.yml': 'name: beside\n',
    });
    const loaded = await readInferenceConfigFile(at('inferenceconfig.json'));
    expect(loaded.paths.sourceDirectory).toBeNull();
    expect(loaded.paths.entryScript.resolved).toBe(join(dir, 'score.py'));
    expect(loaded.environment.condaDependencies).toBe('name: beside\n');
  });

  it('names the resolved path of a missing file, and points at one left beside the configuration', async () => {
    await files({
      ...V1_PROJECT,
      'project/src/env/conda.yml': '',
      'project/conda.yml': 'name: old-layout\n',
      'project/inferenceconfig.yml':
        'entryScript: score.py\nsourceDirectory: src\ncondaFile: conda.yml\n',
    });
    await rm(join(dir, 'project/src/env/conda.yml'));
    const result = await checkInferenceConfigFile(at('project/inferenceconfig.yml'));
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.issues.map((i) => i.file)).toEqual([
      'project/inferenceconfig.yml',
    ]);
    expect(messages(result)).toEqual([
      `condaFile: cannot read ${join(dir, 'project/src/conda.yml')} ("conda.yml" relative to sourceDirectory): ` +
        `no such file; ${join(dir, 'project/conda.yml')} exists, but condaFile is relative to sourceDirectory ` +
        `(as in Azure ML v1): write "../conda.yml" or move the file into sourceDirectory`,
    ]);
  });

  it('reports a missing entry script and source directory with their resolved paths', async () => {
    await files({ ...V1_PROJECT, 'project/score.py': '' });
    await rm(join(dir, 'project/src/score.py'));
    expect(messages(await checkInferenceConfigFile(at('project/inferenceconfig.yml')))).toEqual([
      `entryScript: no such file: ${join(dir, 'project/src/score.py')}; ${join(dir, 'project/score.py')} exists, ` +
        'but entryScript is relative to sourceDirectory (as in Azure ML v1): write "../score.py" or move the file into sourceDirectory',
    ]);
    await rm(join(dir, 'project/src'), { recursive: true });
    expect(messages(await checkInferenceConfigFile(at('project/inferenceconfig.yml')))).toEqual([
      `sourceDirectory: expected a directory, found none at ${join(dir, 'project/src')}`,
      expect.stringMatching(/^condaFile: cannot read .*: no such file$/),
      expect.stringMatching(/^extraDockerfileSteps: cannot read .*: no such file$/),
    ]);
  });

  it('reports every field problem of a YAML file with the file name and field path', async () => {
    await files({ 'ic.yaml': 'entryScript: 7\nruntime: spark-py\n' });
    const attempt = readInferenceConfigFile(at('ic.yaml'));
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(
      /^ic\.yaml: entryScript: expected a path to the entry script.*, got 7\nic\.yaml: runtime: expected "python" or "node", got "spark-py"$/,
    );
  });

  it('says which file is missing', async () => {
    await expect(readInferenceConfigFile(at('nowhere/ic.yml'))).rejects.toThrow(
      `nowhere/ic.yml: no such file (looked for ${join(dir, 'nowhere/ic.yml')})`,
    );
  });
});

describe('readDeploymentConfigFile', () => {
  it('reads a YAML deployment configuration, computeTargetName included', async () => {
    await files({
      'deploymentconfig.yml': [
        'computeType: aks',
        'computeTargetName: aks-prod',
        'autoScaler:',
        '  autoscaleEnabled: yes',
        '  maxReplicas: 4',
        'livenessProbeRequirements:',
        '  successThreshold: 2',
        '',
      ].join('\n'),
    });
    const config = await readDeploymentConfigFile(at('deploymentconfig.yml'), { enableGpu: true });
    expect(config.computeTargetName).toBe('aks-prod');
    expect(config.autoScaler).toMatchObject({ autoscaleEnabled: true, maxReplicas: 4 });
    expect(config.livenessProbeRequirements.successThreshold).toBe(2);
    expect(config.containerResourceRequirements.gpu).toBe(1);
  });

  it('names the file and the field path of every problem', async () => {
    await files({
      'deploymentconfig.yml':
        'computeType: aks\nnumReplicas: 0\nautoScaler:\n  maxReplicas: lots\n',
    });
    const result = await checkDeploymentConfigFile(at('deploymentconfig.yml'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => `${i.file}: ${i.path}`)).toEqual([
      'deploymentconfig.yml: autoScaler.maxReplicas',
      'deploymentconfig.yml: numReplicas',
    ]);
    await expect(readDeploymentConfigFile(at('deploymentconfig.yml'))).rejects.toThrow(
      /^deploymentconfig\.yml: autoScaler\.maxReplicas: expected an integer >= 1, got "lots"\n/,
    );
  });

  it('tells a .json file holding YAML apart from broken JSON', async () => {
    await files({ 'deploymentconfig.json': 'computeType: aks\n' });
    const result = await checkDeploymentConfigFile(at('deploymentconfig.json'));
    expect(messages(result)).toEqual([
      expect.stringMatching(
        /^: not valid JSON: .*; the file holds YAML: rename it to deploymentconfig\.yml/,
      ),
    ]);
  });
});
