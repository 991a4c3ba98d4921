// The entry-script shapes Azure ML v1's inference server accepted, on the real server with the
// real Python runner: inference-schema decorators, run(data, request_headers), azureml.*
// packages the environment installs, and the AZUREML_* variables.
import { delimiter } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EXAMPLES,
  FIXTURES,
  score,
  startReplica,
  stopAllReplicas,
  type ReplicaProcess,
} from './test-support/replica-process.js';

describe('a run() decorated with inference-schema (the stand-in package in test-fixtures/site)', () => {
  let replica: ReplicaProcess;
  beforeAll(async () => {
    replica = await startReplica(
      {
        SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/decorated.py`,
        PYTHONPATH: `${FIXTURES}site`,
        SKIFF_SERVICE_ID: 'decorated',
      },
      { until: 'ready' },
    );
  });
  afterAll(() => replica.stop());

  it('is called with the JSON body as keyword arguments, converted by the decorators', async () => {
    const result = await score(replica, {
      data: [
        [1, 2, 3, 4],
        [0.5, 0.5, 0.5, 0.5],
      ],
      scale: 2,
    });
    expect(result.status).toBe(200);
    expect(result.json).toEqual({
      type: 'numpy.ndarray',
      dtype: 'float64',
      shape: [2, 4],
      sums: [20, 4],
    });
  });

  it("fails the request with the decorator's own error when the input does not fit", async () => {
    const result = await score(replica, { data: [[1, 2]], scale: 1 });
    expect(result.status).toBe(500);
    expect((result.json as { error: string }).error).toMatch(
      /^ValueError: Invalid input array: array has size 2 on dimension #1/,
    );
  });

  it('answers 400 when the body is not a JSON object (there are no keyword arguments)', async () => {
    const list = await score(replica, [1, 2, 3]);
    expect(list.status).toBe(400);
    expect((list.json as { error: string }).error).toMatch(
      /expected a JSON object, got a JSON list/,
    );
    const broken = await score(replica, '{"data": ');
    expect(broken.status).toBe(400);
    expect((broken.json as { error: string }).error).toMatch(/got invalid JSON/);
  });

  it("builds /swagger.json from the decorators' schemas, with their examples", async () => {
    const swagger = (await (await fetch(`${replica.url}/swagger.json`)).json()) as {
      definitions: Record<string, Record<string, unknown>>;
    };
    expect(swagger.definitions['ServiceInput']).toEqual({
      type: 'object',
      properties: {
        data: {
          type: 'array',
          items: { type: 'array', items: { type: 'number', format: 'double' } },
          format: 'numpy.ndarray',
        },
        scale: { type: 'number', format: 'double' },
      },
      example: { data: [[5.1, 3.5, 1.4, 0.2]], scale: 1.0 },
    });
    expect(swagger.definitions['ServiceOutput']).toMatchObject({
      type: 'object',
      example: { type: 'numpy.ndarray', dtype: 'float64', sums: [10.2] },
    });
  });
});

describe('run(data, request_headers)', () => {
  afterEach(() => stopAllReplicas());

  it("passes the request's headers as a dict keyed as Flask spelled them", async () => {
    const replica = await startReplica(
      { SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/headers.py` },
      { until: 'ready' },
    );
    const result = await score(
      replica,
      { a: 1 },
      { 'X-Test-Tag': 'tagged', 'x-ms-client-request-id': 'headers-1' },
    );
    expect(result.status).toBe(200);
    const body = result.json as Record<string, unknown>;
    expect(body).toMatchObject({
      data: { a: 1 },
      isDict: true,
      tag: 'tagged',
      lowerTag: 'tagged',
      requestId: 'headers-1',
    });
    expect(body['names']).toEqual(expect.arrayContaining(['Content-Type', 'X-Test-Tag']));
  });
});

describe('azureml.* packages the environment installs, beside the shim', () => {
  afterEach(() => stopAllReplicas());

  const modelDir = `${EXAMPLES}models/iris-logreg/1`;

  it('imports an installed azureml.monitoring and keeps the fallback Model.get_model_path', async () => {
    const replica = await startReplica(
      {
        SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/namespaces.py`,
        AZUREML_MODEL_DIR: modelDir,
        PYTHONPATH: `${FIXTURES}site`,
      },
      { until: 'ready' },
    );
    const result = await score(replica, {});
    expect(result.status).toBe(200);
    expect(result.json).toEqual({
      collected: 'iris/inputs/1',
      monitoring: `${FIXTURES}site/azureml/monitoring/__init__.py`,
      model: expect.stringMatching(/python\/fallbacks\/azureml\/core\/model\.py$/),
      modelPath: `${modelDir}/iris-logreg.json`,
      amlRequest: expect.stringMatching(/python\/azureml\/contrib\/services\/aml_request\.py$/),
    });
  });

  it('prefers an installed azureml.core to the fallback, and keeps its own contrib.services', async () => {
    const replica = await startReplica(
      {
        SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/namespaces.py`,
        AZUREML_MODEL_DIR: modelDir,
        PYTHONPATH: [`${FIXTURES}site`, `${FIXTURES}site-core`].join(delimiter),
      },
      { until: 'ready' },
    );
    const result = await score(replica, {});
    expect(result.json).toMatchObject({
      model: `${FIXTURES}site-core/azureml/core/model.py`,
      modelPath: 'installed:iris-logreg',
      amlRequest: expect.stringMatching(/python\/azureml\/contrib\/services\/aml_request\.py$/),
    });
  });
});

describe('AZUREML_* variables', () => {
  afterEach(() => stopAllReplicas());

  it('gives the script its model dir, source dir, entry script and worker count', async () => {
    const replica = await startReplica(
      {
        SKIFF_ENTRY_SCRIPT: 'python/behaviours.py',
        SKIFF_SOURCE_DIR: FIXTURES,
        AZUREML_MODEL_DIR: `${EXAMPLES}models`,
        SKIFF_MAX_CONCURRENT_REQUESTS: '2',
      },
      { until: 'ready' },
    );
    const names = [
      'AZUREML_MODEL_DIR',
      'AZUREML_SOURCE_DIRECTORY',
      'AZUREML_ENTRY_SCRIPT',
      'WORKER_COUNT',
    ];
    const result = await score(replica, { action: 'env', names });
    expect(result.json).toEqual({
      AZUREML_MODEL_DIR: `${EXAMPLES}models`,
      AZUREML_SOURCE_DIRECTORY: FIXTURES.replace(/\/$/, ''),
      AZUREML_ENTRY_SCRIPT: 'python/behaviours.py',
      WORKER_COUNT: '2',
    });
  });
});
