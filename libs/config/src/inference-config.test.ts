import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CPU_BASE_IMAGE, DEFAULT_GPU_BASE_IMAGE } from './defaults.js';
import { checkInferenceConfig, parseInferenceConfig } from './inference-config.js';
import { ConfigError } from './issues.js';
import { parseConfigJson } from './document.js';

const fixture = (name: string): unknown =>
  parseConfigJson(readFileSync(new URL(`../test-fixtures/${name}`, import.meta.url), 'utf8'), name);

const issuesOf = (input: unknown) => {
  const result = checkInferenceConfig(input);
  if (result.ok) throw new Error('expected issues, got a valid config');
  return result.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('the flat spelling', () => {
  it('normalizes the v1 documentation example, filling the default CPU image', () => {
    expect(parseInferenceConfig(fixture('valid/flat.inferenceconfig.json'))).toEqual({
      shape: 'flat',
      entryScript: 'score.py',
      sourceDirectory: null,
      runtime: 'python',
      description: 'Iris classifier',
      environment: {
        name: null,
        version: null,
        baseImage: DEFAULT_CPU_BASE_IMAGE,
        baseImageRegistry: null,
        baseDockerfile: null,
        extraDockerfileSteps: null,
        condaFile: 'myenv.yml',
        condaDependencies: null,
        userManagedDependencies: false,
        interpreterPath: null,
        baseCondaEnvironment: null,
        enableGpu: false,
        cudaVersion: null,
        environmentVariables: {},
        inferencingStackVersion: null,
        dockerArguments: [],
        shmSize: null,
      },
    });
  });

  it('keeps a private registry, GPU and CUDA settings', () => {
    const config = parseInferenceConfig(fixture('valid/gpu.inferenceconfig.json'));
    expect(config.environment).toMatchObject({
      baseImage: 'myregistry.azurecr.io/vision/base:2024.05',
      baseImageRegistry: {
        address: 'myregistry.azurecr.io',
        username: 'myregistry',
        password: 'not-a-real-password',
      },
      enableGpu: true,
      cudaVersion: '11.8',
      extraDockerfileSteps: 'docker-steps',
      condaFile: 'env/myenv.yml',
    });
    expect(config.sourceDirectory).toBe('source');
  });

  it('uses the GPU default image when GPU is on and no image is named', () => {
    const config = parseInferenceConfig({ entryScript: 'score.py', enableGpu: true });
    expect(config.environment.baseImage).toBe(DEFAULT_GPU_BASE_IMAGE);
  });

  it.each([
    ['score.py', undefined, 'python'],
    ['score.js', undefined, 'node'],
    ['src/score.mjs', undefined, 'node'],
    ['score.ts', undefined, 'node'],
    ['score.js', 'Python', 'python'],
    ['score.py', 'NODE', 'node'],
  ] as const)('entry script %s with runtime %s runs on %s', (entryScript, runtime, expected) => {
    const input = runtime === undefined ? { entryScript } : { entryScript, runtime };
    expect(parseInferenceConfig(input).runtime).toBe(expected);
  });
});

describe('the nested environment spelling', () => {
  it('normalizes an `az ml environment scaffold` style environment', () => {
    const config = parseInferenceConfig(fixture('valid/nested.inferenceconfig.json'));
    expect(config.shape).toBe('environment');
    expect(config.sourceDirectory).toBe('source');
    expect(config.environment).toMatchObject({
      name: 'project_environment',
      version: null,
      baseImage: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240101.v1',
      baseImageRegistry: null,
      interpreterPath: 'python',
      environmentVariables: { EXAMPLE_ENV_VAR: 'EXAMPLE_VALUE' },
      condaDependencies: {
        name: 'project_environment',
        channels: ['conda-forge'],
        dependencies: [
          'python=3.10',
          { pip: ['azureml-defaults', 'scikit-learn==1.3.2', 'numpy'] },
        ],
      },
    });
  });

  it('takes Dockerfile text as the base instead of an image', () => {
    const config = parseInferenceConfig(fixture('valid/nested-dockerfile.inferenceconfig.json'));
    expect(config.environment.baseImage).toBeNull();
    expect(config.environment.baseDockerfile).toEqual({
      kind: 'inline',
      text: 'FROM mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\nRUN pip install azureml-defaults inference-schema\n',
    });
    expect(config.environment.userManagedDependencies).toBe(true);
    expect(config.environment.shmSize).toBe('2g');
    expect(config.environment.dockerArguments).toEqual(['--ulimit', 'nofile=65536:65536']);
  });

  it('takes a baseDockerfile without newlines or instructions as a path', () => {
    const config = parseInferenceConfig({
      entryScript: 'score.py',
      environment: { docker: { baseDockerfile: 'docker/Dockerfile' } },
    });
    expect(config.environment.baseDockerfile).toEqual({ kind: 'file', path: 'docker/Dockerfile' });
  });

  it('reads GPU from docker.gpuSupport', () => {
    const config = parseInferenceConfig({
      entryScript: 'score.py',
      environment: { docker: { gpuSupport: true } },
    });
    expect(config.environment.enableGpu).toBe(true);
    expect(config.environment.baseImage).toBe(DEFAULT_GPU_BASE_IMAGE);
  });
});

describe('invalid inference configurations', () => {
  // Each case lists exactly the issues expected.
  const cases: [string, unknown, string[]][] = [
    ['not an object', 'score.py', [': expected a JSON object, got "score.py"']],
    [
      'missing entry script',
      {},
      ['entryScript: missing; expected a path to the entry script, e.g. "score.py"'],
    ],
    [
      'empty entry script',
      { entryScript: '' },
      ['entryScript: expected a path to the entry script, e.g. "score.py", got ""'],
    ],
    [
      'entry script not a string',
      { entryScript: ['score.py'] },
      ['entryScript: expected a path to the entry script, e.g. "score.py", got an array'],
    ],
    [
      'missing entry script beside environment',
      { environment: {} },
      ['entryScript: missing; expected a path to the entry script, e.g. "score.py"'],
    ],
    [
      'entry script outside the source directory',
      { entryScript: '../score.py', sourceDirectory: 'src' },
      ['entryScript: expected a path inside sourceDirectory, got "../score.py"'],
    ],
    [
      'absolute entry script with a source directory',
      { entryScript: '/opt/score.py', sourceDirectory: 'src' },
      ['entryScript: expected a path inside sourceDirectory, got "/opt/score.py"'],
    ],
    [
      'spark runtime',
      { entryScript: 'score.py', runtime: 'spark-py' },
      ['runtime: expected "python" or "node", got "spark-py"'],
    ],
    [
      'enableGpu as string',
      { entryScript: 'score.py', enableGpu: 'yes' },
      ['enableGpu: expected true or false, got "yes"'],
    ],
    [
      'bad CUDA version',
      { entryScript: 'score.py', cudaVersion: 'latest' },
      ['cudaVersion: expected a CUDA version like "11.8", got "latest"'],
    ],
    [
      'CUDA version as number',
      { entryScript: 'score.py', cudaVersion: 11.8 },
      ['cudaVersion: expected a CUDA version like "11.8", got 11.8'],
    ],
    [
      'image with a space',
      { entryScript: 'score.py', baseImage: 'my image' },
      [
        'baseImage: expected an image name like "mcr.microsoft.com/azureml/base:latest", got "my image"',
      ],
    ],
    [
      'registry user without password',
      { entryScript: 'score.py', baseImageRegistry: { address: 'r.io', username: 'u' } },
      ['baseImageRegistry.password: missing; expected it together with username'],
    ],
    [
      'unknown registry field',
      { entryScript: 'score.py', baseImageRegistry: { adress: 'r.io' } },
      ['baseImageRegistry.adress: unknown field; did you mean "address"?'],
    ],
    [
      'unknown flat field',
      { entryScript: 'score.py', condaFiles: 'a.yml' },
      ['condaFiles: unknown field; did you mean "condaFile"?'],
    ],
    [
      'unrelated unknown field',
      { entryScript: 'score.py', zzz: 1 },
      [
        'zzz: unknown field; expected one of: entryScript, runtime, condaFile, extraDockerfileSteps, sourceDirectory, enableGpu, baseImage, baseImageRegistry, cudaVersion, description',
      ],
    ],
    [
      'flat field beside environment',
      { entryScript: 'score.py', condaFile: 'a.yml', environment: {} },
      [
        'condaFile: unknown field; not allowed beside "environment"; use environment.python.condaDependenciesFile',
      ],
    ],
    [
      'environment not an object',
      { entryScript: 'score.py', environment: 'env.json' },
      ['environment: expected an object, got "env.json"'],
    ],
    [
      'unknown environment field',
      { entryScript: 'score.py', environment: { pyhton: {} } },
      ['environment.pyhton: unknown field; did you mean "python"?'],
    ],
    [
      'unknown docker field',
      { entryScript: 'score.py', environment: { docker: { image: 'x' } } },
      [
        'environment.docker.image: unknown field; expected one of: enabled, baseImage, baseDockerfile, baseImageRegistry, arguments, shmSize, sharedVolumes, gpuSupport, platform',
      ],
    ],
    [
      'image and Dockerfile both',
      {
        entryScript: 'score.py',
        environment: { docker: { baseImage: 'a:1', baseDockerfile: 'FROM b' } },
      },
      [
        'environment.docker.baseDockerfile: not allowed with environment.docker.baseImage; set one or the other',
      ],
    ],
    [
      'inline conda and conda file both',
      {
        entryScript: 'score.py',
        environment: { python: { condaDependencies: {}, condaDependenciesFile: 'a.yml' } },
      },
      [
        'environment.python.condaDependenciesFile: not allowed with environment.python.condaDependencies; set one or the other',
      ],
    ],
    [
      'conda dependency of the wrong type',
      {
        entryScript: 'score.py',
        environment: { python: { condaDependencies: { dependencies: ['numpy', 3] } } },
      },
      [
        'environment.python.condaDependencies.dependencies.1: expected a conda package spec (a string) or {"pip": [...]}, got 3',
      ],
    ],
    [
      'unknown conda field',
      {
        entryScript: 'score.py',
        environment: { python: { condaDependencies: { dependancies: [] } } },
      },
      [
        'environment.python.condaDependencies.dependancies: unknown field; did you mean "dependencies"?',
      ],
    ],
    [
      'environment variable not a string',
      { entryScript: 'score.py', environment: { environmentVariables: { WORKERS: 4 } } },
      ['environment.environmentVariables.WORKERS: expected a string, got 4'],
    ],
    [
      'environment variable with a bad name',
      { entryScript: 'score.py', environment: { environmentVariables: { '1X': 'a' } } },
      [
        `environment.environmentVariables.1X: expected a variable name of letters, digits and '_' not starting with a digit, got "1X"`,
      ],
    ],
    [
      'R section',
      { entryScript: 'score.py', environment: { r: { rVersion: '4.0' } } },
      ['environment.r: expected null (skiff does not support R environments), got an object'],
    ],
    [
      'Spark packages',
      { entryScript: 'score.py', environment: { spark: { packages: [{ group: 'g' }] } } },
      [
        'environment.spark.packages: expected an empty list (skiff does not support Spark), got an array',
      ],
    ],
    [
      'bad shm size',
      { entryScript: 'score.py', environment: { docker: { shmSize: 'lots' } } },
      ['environment.docker.shmSize: expected a size like "2g", got "lots"'],
    ],
    [
      'docker arguments not a list',
      { entryScript: 'score.py', environment: { docker: { arguments: '--x' } } },
      ['environment.docker.arguments: expected an array, got "--x"'],
    ],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(issuesOf(input)).toEqual(expected);
  });

  it('reports every problem at once', () => {
    expect(issuesOf(fixture('invalid/missing-entry.inferenceconfig.json'))).toEqual([
      'entryScript: missing; expected a path to the entry script, e.g. "score.py"',
      'enableGpu: expected true or false, got "yes"',
    ]);
  });

  it('throws a ConfigError naming the file', () => {
    expect(() => parseInferenceConfig({}, { file: 'ic.json' })).toThrow(
      new ConfigError([
        {
          file: 'ic.json',
          path: 'entryScript',
          message: 'missing; expected a path to the entry script, e.g. "score.py"',
        },
      ]),
    );
  });
});

const relativePath = fc.stringMatching(
  /^[a-z][a-z0-9_-]{0,11}(?:\/[a-z][a-z0-9_-]{0,11}){0,2}\.[a-z]{2,3}$/,
);
const imageName = fc.stringMatching(/^[a-z0-9.-]{1,20}\/[a-z0-9/-]{1,20}:[A-Za-z0-9._-]{1,10}$/);

describe('properties', () => {
  it('the flat and the nested spelling of one environment normalize alike', () => {
    fc.assert(
      fc.property(
        relativePath,
        fc.option(relativePath, { nil: undefined }),
        fc.option(imageName, { nil: undefined }),
        fc.option(fc.stringMatching(/^[a-z0-9.-]{1,30}$/), { nil: undefined }),
        (entryScript, condaFile, baseImage, address) => {
          const flat = parseInferenceConfig({
            entryScript,
            condaFile,
            baseImage,
            baseImageRegistry: address === undefined ? undefined : { address },
          });
          const nested = parseInferenceConfig({
            entryScript,
            environment: {
              python: { condaDependenciesFile: condaFile },
              docker: {
                baseImage,
                baseImageRegistry: address === undefined ? undefined : { address },
              },
            },
          });
          expect({ ...nested, shape: 'flat' }).toEqual({
            ...flat,
            // The nested spelling is Python-only (v1 had no runtime there).
            runtime: 'python',
          });
        },
      ),
    );
  });

  it('any JSON value either normalizes or yields issues naming the file; it never throws', () => {
    const anyConfig = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(
        fc.constantFrom(
          'entryScript',
          'environment',
          'condaFile',
          'enableGpu',
          'baseImage',
          'python',
          'docker',
        ),
        fc.jsonValue(),
      ),
      fc.record({
        entryScript: fc.jsonValue(),
        environment: fc.dictionary(
          fc.constantFrom('python', 'docker', 'r', 'spark', 'name'),
          fc.jsonValue(),
        ),
      }),
    );
    fc.assert(
      fc.property(anyConfig, (input) => {
        const result = checkInferenceConfig(input, { file: 'ic.json' });
        if (!result.ok) {
          expect(result.issues.length).toBeGreaterThan(0);
          for (const issue of result.issues) expect(issue.file).toBe('ic.json');
        }
      }),
    );
  });
});
