import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { environmentHash } from '@skiff/hashing';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CPU_BASE_IMAGE } from './defaults.js';
import { resolveEnvironmentDefinition } from './environment-definition.js';
import { parseInferenceConfig } from './inference-config.js';
import { ConfigError } from './issues.js';
import { parseConfigJson } from './document.js';

const fixtures = fileURLToPath(new URL('../test-fixtures/', import.meta.url));

// What the CLI does: read the config, resolve the files it names from its own directory.
async function definitionOf(relativeFile: string) {
  const file = resolve(fixtures, relativeFile);
  const config = parseInferenceConfig(parseConfigJson(await readFile(file, 'utf8'), file));
  return resolveEnvironmentDefinition(config, (p) => readFile(p, 'utf8'), {
    configDirectory: dirname(file),
  });
}

/** A reader over an in-memory file map that records what was read. */
function memoryReader(files: Record<string, string>) {
  const read: string[] = [];
  const reader = (path: string) => {
    read.push(path);
    const text = files[path];
    return text === undefined
      ? Promise.reject(new Error(`ENOENT: no such file, open '${path}'`))
      : Promise.resolve(text);
  };
  return { reader, read };
}

describe('resolveEnvironmentDefinition', () => {
  it('reads the conda file and the extra Dockerfile steps of a flat configuration', async () => {
    expect(await definitionOf('project/inferenceconfig.json')).toEqual({
      baseImage: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest',
      enableGpu: false,
      condaDependencies: await readFile(resolve(fixtures, 'project/source/myenv.yml'), 'utf8'),
      extraDockerfileSteps:
        'RUN apt-get update && apt-get install -y --no-install-recommends libgomp1\n',
    });
  });

  it('an inline conda definition hashes like the same definition in a file', async () => {
    const fromFile = await definitionOf('project/inferenceconfig.json');
    const inline = await definitionOf('project-nested/inferenceconfig.json');
    expect(inline.condaDependencies).toContain('scikit-learn==1.3.2');
    // Same environment apart from the extra steps, which only the flat file has.
    const { extraDockerfileSteps: _steps, ...withoutSteps } = fromFile;
    expect(environmentHash(inline)).toBe(environmentHash(withoutSteps));
    expect(environmentHash(inline)).not.toBe(environmentHash(fromFile));
  });

  it('keeps only the registry address, never the credentials', async () => {
    const config = parseInferenceConfig({
      entryScript: 'score.py',
      baseImage: 'vision/base:1',
      baseImageRegistry: { address: 'myregistry.azurecr.io', username: 'u', password: 'secret' },
      enableGpu: true,
      cudaVersion: '11.8',
    });
    const definition = await resolveEnvironmentDefinition(config, memoryReader({}).reader);
    expect(definition).toEqual({
      baseImage: 'vision/base:1',
      baseImageRegistry: 'myregistry.azurecr.io',
      enableGpu: true,
      cudaVersion: '11.8',
    });
    expect(JSON.stringify(definition)).not.toContain('secret');
  });

  it('reads a base Dockerfile path and leaves the base image empty', async () => {
    const config = parseInferenceConfig({
      entryScript: 'score.py',
      environment: {
        docker: { baseDockerfile: 'Dockerfile' },
        python: { condaDependenciesFile: 'env.yml' },
      },
    });
    const { reader, read } = memoryReader({
      Dockerfile: 'FROM ubuntu:22.04\n',
      'env.yml': 'name: x\n',
    });
    expect(await resolveEnvironmentDefinition(config, reader)).toEqual({
      baseImage: '',
      baseDockerfile: 'FROM ubuntu:22.04\n',
      condaDependencies: 'name: x\n',
      enableGpu: false,
    });
    expect(read.sort()).toEqual(['Dockerfile', 'env.yml']);
  });

  it('leaves conda out, unread, when the user manages the dependencies', async () => {
    const config = parseInferenceConfig({
      entryScript: 'score.py',
      environment: { python: { userManagedDependencies: true, condaDependenciesFile: 'env.yml' } },
    });
    const { reader, read } = memoryReader({});
    expect(await resolveEnvironmentDefinition(config, reader)).toEqual({
      baseImage: DEFAULT_CPU_BASE_IMAGE,
      enableGpu: false,
    });
    expect(read).toEqual([]);
  });

  it('names every field whose file cannot be read', async () => {
    const config = parseInferenceConfig({
      entryScript: 'score.py',
      condaFile: 'missing.yml',
      extraDockerfileSteps: 'missing-steps',
    });
    const attempt = resolveEnvironmentDefinition(config, memoryReader({}).reader, {
      file: 'ic.json',
    });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toMatchObject({
      issues: [
        {
          file: 'ic.json',
          path: 'condaFile',
          message: `cannot read missing.yml: ENOENT: no such file, open 'missing.yml'`,
        },
        {
          file: 'ic.json',
          path: 'extraDockerfileSteps',
          message: `cannot read missing-steps: ENOENT: no such file, open 'missing-steps'`,
        },
      ],
    });
  });

  it('reads condaFile and extraDockerfileSteps relative to sourceDirectory, as v1 did', async () => {
    const config = parseInferenceConfig({
      entryScript: 'score.py',
      sourceDirectory: 'src',
      condaFile: 'env/conda.yml',
      extraDockerfileSteps: '../steps',
    });
    const { reader, read } = memoryReader({
      '/project/src/env/conda.yml': 'dependencies: [python=3.11]\n',
      '/project/steps': 'RUN true\n',
    });
    const definition = await resolveEnvironmentDefinition(config, reader, {
      configDirectory: '/project',
    });
    expect(read.sort()).toEqual(['/project/src/env/conda.yml', '/project/steps']);
    expect(definition.condaDependencies).toBe('dependencies: [python=3.11]\n');
    expect(definition.extraDockerfileSteps).toBe('RUN true\n');
  });

  it('reads them beside the configuration when there is no sourceDirectory', async () => {
    const config = parseInferenceConfig({ entryScript: 'score.py', condaFile: 'conda.yml' });
    const { reader, read } = memoryReader({ '/project/conda.yml': 'name: x\n' });
    await resolveEnvironmentDefinition(config, reader, { configDirectory: '/project' });
    expect(read).toEqual(['/project/conda.yml']);
  });

  it('keeps paths of a nested environment relative to the configuration file', async () => {
    const config = parseInferenceConfig({
      entryScript: 'score.py',
      sourceDirectory: 'src',
      environment: {
        python: { condaDependenciesFile: 'conda.yml' },
        docker: { baseDockerfile: 'Dockerfile.base' },
      },
    });
    const { reader, read } = memoryReader({
      '/project/conda.yml': 'name: x\n',
      '/project/Dockerfile.base': 'FROM scratch\n',
    });
    await resolveEnvironmentDefinition(config, reader, { configDirectory: '/project' });
    expect(read.sort()).toEqual(['/project/Dockerfile.base', '/project/conda.yml']);
  });

  it('names the resolved path and what it was relative to when a file is missing', async () => {
    const config = parseInferenceConfig({
      entryScript: 'score.py',
      sourceDirectory: 'src',
      condaFile: 'conda.yml',
    });
    const missing = Object.assign(new Error('ENOENT: no such file or directory'), {
      code: 'ENOENT',
    });
    const attempt = resolveEnvironmentDefinition(config, () => Promise.reject(missing), {
      file: 'inferenceconfig.yml',
      configDirectory: '/project',
    });
    await expect(attempt).rejects.toMatchObject({
      issues: [
        {
          file: 'inferenceconfig.yml',
          path: 'condaFile',
          message:
            'cannot read /project/src/conda.yml ("conda.yml" relative to sourceDirectory): no such file',
        },
      ],
    });
  });
});
