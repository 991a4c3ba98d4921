import { describe, expect, it } from 'vitest';
import type { WorkloadSpec } from '../driver.js';
import {
  checkLocalSpec,
  defaultBaseEnvironment,
  modelDir,
  modelFolderName,
  replicaEnvironment,
  specHash,
} from './environment.js';
import { checkServiceKey, StateLayout } from './layout.js';

const spec: WorkloadSpec = {
  workspace: 'team',
  service: 'iris',
  generation: 4,
  replicas: 2,
  namespace: 'default',
  environmentHash: 'h',
  image: '',
  entryScript: 'score.py',
  runtime: 'python',
  sourceDir: '/src',
  snapshotDigest: '',
  models: [{ name: 'm', version: 1, digest: '', path: '/models/m/1' }],
  environmentVariables: { GREETING: 'hi', SKIFF_PORT: '1', SKIFF_HOST: '0.0.0.0' },
  resources: { cpu: 1, memoryInGB: 1, gpu: 0, fpga: 0 },
  liveness: {
    periodSeconds: 10,
    initialDelaySeconds: 310,
    timeoutSeconds: 2,
    successThreshold: 1,
    failureThreshold: 3,
  },
  maxConcurrentRequests: 3,
  scoringTimeoutMs: 60_000,
  dataCollection: true,
};

describe('replicaEnvironment', () => {
  it("sets the scoring server's variables, which neither the base nor the spec can override", () => {
    const env = replicaEnvironment({
      spec,
      replicaId: 'iris-g4-00000000',
      modelDir: '/models/m/1',
      dataCollectionDir: '/collected',
      baseEnvironment: {
        PATH: '/bin',
        SKIFF_PYTHON: 'python3.11',
        AZUREML_MODEL_DIR: '/stale',
        SKIFF_LOG_LEVEL: 'warn',
      },
    });
    expect(env).toEqual({
      PATH: '/bin',
      SKIFF_PYTHON: 'python3.11',
      SKIFF_LOG_LEVEL: 'info',
      GREETING: 'hi',
      SKIFF_ENTRY_SCRIPT: 'score.py',
      SKIFF_SOURCE_DIR: '/src',
      SKIFF_RUNTIME: 'python',
      SKIFF_HOST: '127.0.0.1',
      SKIFF_PORT: '0',
      SKIFF_MAX_CONCURRENT_REQUESTS: '3',
      SKIFF_SCORING_TIMEOUT_MS: '60000',
      SKIFF_SERVICE_ID: 'team/iris',
      SKIFF_REPLICA_ID: 'iris-g4-00000000',
      AZUREML_MODEL_DIR: '/models/m/1',
      SKIFF_DATA_COLLECTION_DIR: '/collected',
    });
    const quiet = replicaEnvironment({
      spec: { ...spec, dataCollection: false, models: [] },
      replicaId: 'x',
      modelDir: '',
      dataCollectionDir: '/collected',
      baseEnvironment: { SKIFF_DATA_COLLECTION_DIR: '/elsewhere' },
    });
    expect(quiet).not.toHaveProperty('SKIFF_DATA_COLLECTION_DIR');
    expect(quiet).not.toHaveProperty('AZUREML_MODEL_DIR');
    const verbose = replicaEnvironment({
      spec: { ...spec, environmentVariables: { SKIFF_LOG_LEVEL: 'trace' } },
      replicaId: 'x',
      modelDir: '',
      dataCollectionDir: '/collected',
      baseEnvironment: {},
    });
    expect(verbose['SKIFF_LOG_LEVEL']).toBe('trace');
  });

  it('passes on only harmless variables of the agent by default', () => {
    expect(
      defaultBaseEnvironment({
        PATH: '/bin',
        HOME: '/h',
        REDIS_URL: 'redis://secret',
        TZ: undefined,
      }),
    ).toEqual({ PATH: '/bin', HOME: '/h' });
  });
});

describe('models', () => {
  const layout = new StateLayout('/state');
  it('points AZUREML_MODEL_DIR at one model, or at a per-generation folder of several', () => {
    expect(modelFolderName(spec, 'abcdef0123456789')).toBe('');
    expect(modelDir(layout, spec, '')).toBe('/models/m/1');
    const two = { ...spec, models: [...spec.models, { ...spec.models[0]!, name: 'n' }] };
    expect(modelFolderName(two, 'abcdef0123456789')).toBe('g4-abcdef012345');
    expect(modelDir(layout, two, 'g4-abcdef012345')).toBe(
      '/state/team/iris/models/g4-abcdef012345',
    );
    expect(modelDir(layout, { ...spec, models: [] }, '')).toBe('');
  });
});

describe('specHash', () => {
  it('ignores the replica count and key order, and sees every other change', () => {
    const reordered = Object.fromEntries(Object.entries(spec).reverse()) as unknown as WorkloadSpec;
    expect(specHash({ ...spec, replicas: 9 })).toBe(specHash(spec));
    expect(specHash(reordered)).toBe(specHash(spec));
    expect(specHash({ ...spec, generation: 5 })).not.toBe(specHash(spec));
    expect(specHash({ ...spec, environmentVariables: { GREETING: 'hello' } })).not.toBe(
      specHash(spec),
    );
  });
});

describe('checks', () => {
  it('names every problem of a spec the local runtime cannot run', () => {
    const bad = {
      ...spec,
      sourceDir: undefined,
      replicas: -1,
      models: [spec.models[0]!, { ...spec.models[0]!, path: undefined }],
    } as unknown as WorkloadSpec;
    expect(() => checkLocalSpec(bad)).toThrow(
      'replicas: expected an integer ≥ 0, got -1; sourceDir: the local runtime needs the unpacked source; models: m/1 has no local path; models: m/1 appears twice',
    );
    expect(() => checkLocalSpec(spec)).not.toThrow();
  });

  it('keeps workspace and service names inside the state directory', () => {
    for (const name of ['..', '.hidden', 'a/b', '', 'a\\b']) {
      expect(() => checkServiceKey({ workspace: name, service: 'ok' })).toThrow(/workspace/);
      expect(() => checkServiceKey({ workspace: 'ok', service: name })).toThrow(/service/);
    }
    expect(() => checkServiceKey({ workspace: 'team-1', service: 'iris.v2_b' })).not.toThrow();
  });
});
