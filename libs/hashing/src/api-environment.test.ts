import { Environment } from '@skiff/proto';
import { describe, expect, it } from 'vitest';
import { environmentDefinitionOf } from './api-environment.js';
import { environmentHash } from './environment-hash.js';

describe('environmentDefinitionOf', () => {
  it('takes the registry address but never its credentials, and leaves empty fields out', () => {
    const env = Environment.fromPartial({
      docker: {
        baseImage: 'mcr.microsoft.com/azureml/base:latest',
        baseImageRegistry: { address: 'myacr.azurecr.io', username: 'u', password: 'p' },
      },
      pipRequirements: 'numpy==1.26.4\n',
      enableGpu: true,
    });
    expect(environmentDefinitionOf(env)).toEqual({
      baseImage: 'mcr.microsoft.com/azureml/base:latest',
      baseImageRegistry: 'myacr.azurecr.io',
      pipRequirements: 'numpy==1.26.4\n',
      enableGpu: true,
    });
  });

  it('maps no environment to the default one', () => {
    expect(environmentDefinitionOf(undefined)).toEqual({ baseImage: '', enableGpu: false });
    expect(environmentHash(environmentDefinitionOf(Environment.fromPartial({})))).toBe(
      environmentHash(environmentDefinitionOf(undefined)),
    );
  });
});
