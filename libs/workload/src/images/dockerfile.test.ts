// Dockerfiles of environment images, compared with golden files (see test-support/golden.ts for
// how to regenerate them after an intended change).
import type { EnvironmentDefinition } from '@skiff/hashing';
import { InvalidArgumentError } from '@skiff/errors';
import { describe, expect, it } from 'vitest';
import { environmentBuildContext, type BuildContext } from './dockerfile.js';
import { expectGolden } from './test-support/golden.js';

const options = { scoringRuntimeImage: 'registry.skiff.test/skiff/scoring-runtime:0.1.0' };
const contextFiles = (context: BuildContext) => ({
  Dockerfile: context.dockerfile,
  ...context.files,
});

const conda = `name: project_environment
channels: [conda-forge, defaults]
dependencies:
  - python=3.10
  - numpy=1.26.4
  - pip:
      - azureml-defaults==1.55.0
      - scikit-learn==1.4.2
`;

const cases: Record<string, EnvironmentDefinition> = {
  // userManagedDependencies: the base image's own Python, nothing installed.
  'default-image': { baseImage: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04' },
  'conda-private-registry-extra-steps': {
    baseImage: 'team/base:2024.1',
    baseImageRegistry: 'https://teamacr.azurecr.io/',
    condaDependencies: conda,
    extraDockerfileSteps:
      'RUN apt-get update && apt-get install -y --no-install-recommends libgomp1\nENV OMP_NUM_THREADS=1\nUSER 1000\n',
  },
  'gpu-cuda': {
    baseImage: 'mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04',
    enableGpu: true,
    cudaVersion: '11.8',
    condaDependencies: conda,
  },
  'base-dockerfile-pip': {
    baseImage: '',
    baseDockerfile:
      '# syntax=docker/dockerfile:1\n# escape=`\nFROM python:3.11-slim\nRUN pip install --upgrade pip\n',
    pipRequirements: 'Flask >= 2.0 , <3\nrequests==2.32.3  # http\n',
  },
};

describe('environmentBuildContext', () => {
  it.each(Object.entries(cases))('matches the golden context for %s', async (name, environment) => {
    await expectGolden(
      `dockerfile/${name}`,
      contextFiles(environmentBuildContext(environment, options)),
    );
  });

  it('gives byte-identical contexts for definitions that differ only in formatting', () => {
    const reformatted = `# same environment, other formatting
dependencies:
  - pip: ["scikit-learn == 1.4.2", "azureml-defaults==1.55.0"]
  - numpy=1.26.4
  - "python=3.10"
channels:
  - conda-forge
  - defaults
name: project_environment
`;
    const a = environmentBuildContext({ baseImage: 'x/y:1', condaDependencies: conda }, options);
    const b = environmentBuildContext(
      { baseImage: ' x/y:1 ', condaDependencies: reformatted },
      options,
    );
    expect(b).toEqual(a);
  });

  it('changes when a dependency changes', () => {
    const a = environmentBuildContext({ baseImage: 'x/y:1', condaDependencies: conda }, options);
    const b = environmentBuildContext(
      { baseImage: 'x/y:1', condaDependencies: conda.replace('1.26.4', '1.26.3') },
      options,
    );
    expect(b.files['conda-environment.yml']).not.toBe(a.files['conda-environment.yml']);
    expect(b.dockerfile).not.toBe(a.dockerfile); // the hash in the header and label differs
  });

  it('keeps a base image that names its own registry, and picks the GPU image for CUDA 11.8', () => {
    const own = environmentBuildContext(
      { baseImage: 'other.io/x/y:1', baseImageRegistry: 'teamacr.azurecr.io' },
      options,
    );
    expect(own.dockerfile).toContain('\nFROM other.io/x/y:1\n');
    const gpu = environmentBuildContext(
      {
        baseImage: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04',
        enableGpu: true,
        cudaVersion: '11.8',
      },
      options,
    );
    expect(gpu.dockerfile).toContain(
      '\nFROM mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04\n',
    );
  });

  it('refuses a CUDA version it knows no base image for, naming the field', () => {
    const build = () =>
      environmentBuildContext({ baseImage: '', enableGpu: true, cudaVersion: '12.4' }, options);
    expect(build).toThrow(InvalidArgumentError);
    expect(build).toThrow(
      /^cudaVersion: skiff knows no GPU base image for CUDA 12\.4 \(known: 11\.8\); name a CUDA base image in baseImage/,
    );
    const custom = environmentBuildContext(
      { baseImage: '', enableGpu: true, cudaVersion: '12.4' },
      { ...options, cudaBaseImages: { '12.4': 'nvcr.io/team/cuda:12.4' } },
    );
    expect(custom.dockerfile).toContain('\nFROM nvcr.io/team/cuda:12.4\n');
  });
});
