import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEPLOYMENT_DEFAULTS } from './defaults.js';
import {
  checkDeploymentConfig,
  parseDeploymentConfig,
  type DeploymentConfig,
} from './deployment-config.js';
import { ConfigError } from './issues.js';
import { parseConfigJson } from './document.js';

const fixture = (name: string): unknown =>
  parseConfigJson(readFileSync(new URL(`../test-fixtures/${name}`, import.meta.url), 'utf8'), name);

const issuesOf = (input: unknown, options = {}) => {
  const result = checkDeploymentConfig(input, options);
  if (result.ok) throw new Error(`expected issues, got a valid config`);
  return result.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('valid deployment configurations', () => {
  it('fills every default of SPEC.md §1 for the smallest AKS config', () => {
    expect(parseDeploymentConfig({ computeType: 'aks' })).toEqual({
      computeType: 'aks',
      computeTargetName: null,
      port: null,
      autoScaler: {
        autoscaleEnabled: true,
        minReplicas: 1,
        maxReplicas: 10,
        refreshPeriodInSeconds: 1,
        targetUtilization: 70,
      },
      numReplicas: null,
      containerResourceRequirements: {
        cpu: 0.1,
        memoryInGB: 0.5,
        cpuLimit: null,
        memoryInGBLimit: null,
        gpu: 0,
        fpga: 0,
      },
      authEnabled: true,
      tokenAuthEnabled: false,
      keys: { primaryKey: null, secondaryKey: null },
      scoringTimeoutMs: 60000,
      maxConcurrentRequestsPerContainer: 1,
      maxQueueWaitMs: 500,
      livenessProbeRequirements: {
        periodSeconds: 10,
        initialDelaySeconds: 310,
        timeoutSeconds: 2,
        successThreshold: 1,
        failureThreshold: 3,
      },
      dataCollection: { storageEnabled: false },
      appInsightsEnabled: false,
      namespace: null,
      description: null,
      tags: {},
      properties: {},
    } satisfies DeploymentConfig);
  });

  it('reads the v1 documentation example with autoscale', () => {
    const config = parseDeploymentConfig(fixture('valid/aks-autoscale.deploymentconfig.json'));
    expect(config.autoScaler).toEqual({
      autoscaleEnabled: true,
      minReplicas: 1,
      maxReplicas: 3,
      refreshPeriodInSeconds: 1,
      targetUtilization: 70,
    });
    expect(config.dataCollection.storageEnabled).toBe(true);
    expect(config.containerResourceRequirements).toMatchObject({ cpu: 0.5, memoryInGB: 1 });
    expect(config.numReplicas).toBeNull();
  });

  it('turns autoscale off when numReplicas is set, and keeps every explicit field', () => {
    const config = parseDeploymentConfig(fixture('valid/aks-fixed-replicas.deploymentconfig.json'));
    expect(config.computeType).toBe('aks');
    expect(config.numReplicas).toBe(3);
    expect(config.autoScaler.autoscaleEnabled).toBe(false);
    expect(config.containerResourceRequirements).toEqual({
      cpu: 1,
      memoryInGB: 2,
      cpuLimit: 2,
      memoryInGBLimit: 4,
      gpu: 0,
      fpga: 0,
    });
    expect(config.namespace).toBe('team-fraud');
    expect(config.keys.primaryKey).toBe('p8s0T9mQ2vXq7LwZ1bC4nR6yA3eK5uJd');
    expect(config.tags).toEqual({ team: 'fraud', stage: 'prod' });
    expect(config.scoringTimeoutMs).toBe(5000);
    expect(config.maxConcurrentRequestsPerContainer).toBe(2);
    expect(config.maxQueueWaitMs).toBe(1000);
    expect(config.appInsightsEnabled).toBe(true);
  });

  it('accepts livenessProbeRequirements.successThreshold above 1, as v1 did', () => {
    const config = parseDeploymentConfig({
      computeType: 'aks',
      livenessProbeRequirements: { successThreshold: 3 },
    });
    expect(config.livenessProbeRequirements.successThreshold).toBe(3);
  });

  it('keeps computeTargetName, the compute a v1 AKS file names', () => {
    expect(
      parseDeploymentConfig({ computeType: 'aks', computeTargetName: 'aks-prod_1' })
        .computeTargetName,
    ).toBe('aks-prod_1');
    expect(
      parseDeploymentConfig({ computeType: 'aks', computeTargetName: null }).computeTargetName,
    ).toBeNull();
  });

  it('accepts numReplicas 1 and minReplicas 1, the smallest counts v1 allowed', () => {
    expect(parseDeploymentConfig({ computeType: 'aks', numReplicas: 1 }).numReplicas).toBe(1);
    expect(
      parseDeploymentConfig({ computeType: 'aks', autoScaler: { minReplicas: 1 } }).autoScaler
        .minReplicas,
    ).toBe(1);
  });

  it('accepts computeType local with a port', () => {
    const config = parseDeploymentConfig(fixture('valid/local.deploymentconfig.json'));
    expect(config.computeType).toBe('local');
    expect(config.port).toBe(32267);
  });

  it('folds gpuCores into containerResourceRequirements.gpu and keeps token auth', () => {
    const config = parseDeploymentConfig(fixture('valid/aks-gpu.deploymentconfig.json'));
    expect(config.containerResourceRequirements.gpu).toBe(1);
    expect(config.authEnabled).toBe(false);
    expect(config.tokenAuthEnabled).toBe(true);
    expect(config.livenessProbeRequirements.initialDelaySeconds).toBe(600);
  });

  it('treats null as unset, as v1 scaffolds write it', () => {
    expect(
      parseDeploymentConfig(fixture('valid/aks-scaffold-nulls.deploymentconfig.json')),
    ).toEqual(parseDeploymentConfig({ computeType: 'aks' }));
  });

  it('defaults to one GPU when the inference configuration enables GPU, else none', () => {
    expect(
      parseDeploymentConfig({ computeType: 'aks' }, { enableGpu: true })
        .containerResourceRequirements.gpu,
    ).toBe(1);
    expect(
      parseDeploymentConfig(
        { computeType: 'aks', containerResourceRequirements: { gpu: 2 } },
        { enableGpu: true },
      ).containerResourceRequirements.gpu,
    ).toBe(2);
    expect(
      parseDeploymentConfig({ computeType: 'aks' }, { enableGpu: false })
        .containerResourceRequirements.gpu,
    ).toBe(0);
  });

  it('token auth alone turns key auth off by default', () => {
    const config = parseDeploymentConfig({ computeType: 'aks', tokenAuthEnabled: true });
    expect([config.authEnabled, config.tokenAuthEnabled]).toEqual([false, true]);
  });

  it('autoscale explicitly off without numReplicas runs one replica', () => {
    const config = parseDeploymentConfig({
      computeType: 'aks',
      autoScaler: { autoscaleEnabled: false },
    });
    expect(config.numReplicas).toBe(DEPLOYMENT_DEFAULTS.numReplicasWithoutAutoscale);
    expect(config.autoScaler.autoscaleEnabled).toBe(false);
  });

  it.each(['AKS', 'aks', 'Aks', 'LOCAL', 'Local'])(
    'accepts computeType %s in any case',
    (computeType) => {
      expect(parseDeploymentConfig({ computeType }).computeType).toBe(computeType.toLowerCase());
    },
  );
});

describe('invalid deployment configurations', () => {
  // Each case lists exactly the issues expected: an extra or a missing one fails the test.
  const cases: [string, unknown, string[]][] = [
    ['not an object', [], [': expected a JSON object, got an array']],
    ['null document', null, [': expected a JSON object, got null']],
    ['missing computeType', {}, ['computeType: missing; expected "aks" or "local"']],
    [
      'ACI compute type',
      { computeType: 'aci' },
      ['computeType: expected "aks" or "local", got "aci"'],
    ],
    [
      'computeType not a string',
      { computeType: 1 },
      ['computeType: expected "aks" or "local", got 1'],
    ],
    [
      'targetUtilization above 100',
      { computeType: 'aks', autoScaler: { targetUtilization: 150 } },
      ['autoScaler.targetUtilization: expected an integer from 1 to 100, got 150'],
    ],
    [
      'targetUtilization 0',
      { computeType: 'aks', autoScaler: { targetUtilization: 0 } },
      ['autoScaler.targetUtilization: expected an integer from 1 to 100, got 0'],
    ],
    [
      'targetUtilization fraction',
      { computeType: 'aks', autoScaler: { targetUtilization: 0.7 } },
      ['autoScaler.targetUtilization: expected an integer from 1 to 100, got 0.7'],
    ],
    [
      'targetUtilization string',
      { computeType: 'aks', autoScaler: { targetUtilization: '70' } },
      ['autoScaler.targetUtilization: expected an integer from 1 to 100, got "70"'],
    ],
    [
      'negative minReplicas',
      { computeType: 'aks', autoScaler: { minReplicas: -1 } },
      [
        'autoScaler.minReplicas: expected an integer greater than zero (Azure ML v1 refused it too: an autoscaled service keeps at least one replica), got -1',
      ],
    ],
    [
      'minReplicas 0 (v1 refused it)',
      { computeType: 'aks', autoScaler: { minReplicas: 0 } },
      [
        'autoScaler.minReplicas: expected an integer greater than zero (Azure ML v1 refused it too: an autoscaled service keeps at least one replica), got 0',
      ],
    ],
    [
      'maxReplicas 0',
      { computeType: 'aks', autoScaler: { maxReplicas: 0 } },
      ['autoScaler.maxReplicas: expected an integer >= 1, got 0'],
    ],
    [
      'min above max',
      { computeType: 'aks', autoScaler: { minReplicas: 5, maxReplicas: 2 } },
      ['autoScaler.minReplicas: expected at most autoScaler.maxReplicas (2), got 5'],
    ],
    [
      'min above default max',
      { computeType: 'aks', autoScaler: { minReplicas: 11 } },
      ['autoScaler.minReplicas: expected at most the default maxReplicas (10), got 11'],
    ],
    [
      'refresh period 0',
      { computeType: 'aks', autoScaler: { refreshPeriodInSeconds: 0 } },
      ['autoScaler.refreshPeriodInSeconds: expected an integer >= 1, got 0'],
    ],
    [
      'autoscaleEnabled as string',
      { computeType: 'aks', autoScaler: { autoscaleEnabled: 'true' } },
      ['autoScaler.autoscaleEnabled: expected true or false, got "true"'],
    ],
    [
      'autoScaler as array',
      { computeType: 'aks', autoScaler: [] },
      ['autoScaler: expected an object, got an array'],
    ],
    [
      'negative numReplicas',
      { computeType: 'aks', numReplicas: -2 },
      [
        'numReplicas: expected an integer greater than zero (Azure ML v1 refused it too: a service needs a replica to answer; leave numReplicas unset to autoscale), got -2',
      ],
    ],
    [
      'numReplicas 0 (v1 refused it)',
      { computeType: 'aks', numReplicas: 0 },
      [
        'numReplicas: expected an integer greater than zero (Azure ML v1 refused it too: a service needs a replica to answer; leave numReplicas unset to autoscale), got 0',
      ],
    ],
    [
      'numReplicas 0 with autoscale off',
      { computeType: 'aks', numReplicas: 0, autoScaler: { autoscaleEnabled: false } },
      [
        'numReplicas: expected an integer greater than zero (Azure ML v1 refused it too: a service needs a replica to answer; leave numReplicas unset to autoscale), got 0',
      ],
    ],
    [
      'numReplicas with autoscale on',
      { computeType: 'aks', numReplicas: 3, autoScaler: { autoscaleEnabled: true } },
      ['numReplicas: not allowed with autoScaler.autoscaleEnabled true; set one or the other'],
    ],
    [
      'both auth modes',
      { computeType: 'aks', authEnabled: true, tokenAuthEnabled: true },
      [
        'tokenAuthEnabled: not allowed with authEnabled true; enable key auth or token auth, not both',
      ],
    ],
    [
      'zero cpu',
      { computeType: 'aks', containerResourceRequirements: { cpu: 0 } },
      ['containerResourceRequirements.cpu: expected a number > 0, got 0'],
    ],
    [
      'negative memory',
      { computeType: 'aks', containerResourceRequirements: { memoryInGB: -1 } },
      ['containerResourceRequirements.memoryInGB: expected a number > 0, got -1'],
    ],
    [
      'cpu limit below request',
      { computeType: 'aks', containerResourceRequirements: { cpu: 2, cpuLimit: 1 } },
      [
        'containerResourceRequirements.cpuLimit: expected at least containerResourceRequirements.cpu (2), got 1',
      ],
    ],
    [
      'memory limit below default request',
      { computeType: 'aks', containerResourceRequirements: { memoryInGBLimit: 0.25 } },
      [
        'containerResourceRequirements.memoryInGBLimit: expected at least the default memoryInGB (0.5), got 0.25',
      ],
    ],
    [
      'fractional gpu',
      { computeType: 'aks', containerResourceRequirements: { gpu: 0.5 } },
      ['containerResourceRequirements.gpu: expected an integer >= 0, got 0.5'],
    ],
    [
      'fractional gpuCores',
      { computeType: 'aks', gpuCores: 1.5 },
      ['gpuCores: expected an integer >= 0, got 1.5'],
    ],
    [
      'negative fpga',
      { computeType: 'aks', containerResourceRequirements: { fpga: -1 } },
      ['containerResourceRequirements.fpga: expected an integer >= 0, got -1'],
    ],
    [
      'gpuCores conflicting with gpu',
      { computeType: 'aks', gpuCores: 2, containerResourceRequirements: { gpu: 1 } },
      [
        'gpuCores: conflicts with containerResourceRequirements.gpu (1), got 2; set only one of them',
      ],
    ],
    [
      'namespace with capitals',
      { computeType: 'aks', namespace: 'Team' },
      [
        `namespace: expected a DNS label (at most 63 characters of a-z, 0-9 and '-', not starting or ending with '-'), got "Team"`,
      ],
    ],
    [
      'namespace with leading dash',
      { computeType: 'aks', namespace: '-team' },
      [
        `namespace: expected a DNS label (at most 63 characters of a-z, 0-9 and '-', not starting or ending with '-'), got "-team"`,
      ],
    ],
    [
      'namespace with trailing dash',
      { computeType: 'aks', namespace: 'team-' },
      [
        `namespace: expected a DNS label (at most 63 characters of a-z, 0-9 and '-', not starting or ending with '-'), got "team-"`,
      ],
    ],
    [
      'namespace of 64 chars',
      { computeType: 'aks', namespace: 'a'.repeat(64) },
      [
        `namespace: expected a DNS label (at most 63 characters of a-z, 0-9 and '-', not starting or ending with '-'), got "${'a'.repeat(57)}..."`,
      ],
    ],
    [
      'namespace not a string',
      { computeType: 'aks', namespace: 7 },
      ['namespace: expected a Kubernetes namespace name, got 7'],
    ],
    [
      'scoring timeout 0',
      { computeType: 'aks', scoringTimeoutMs: 0 },
      ['scoringTimeoutMs: expected an integer >= 1, got 0'],
    ],
    [
      'concurrency 0',
      { computeType: 'aks', maxConcurrentRequestsPerContainer: 0 },
      ['maxConcurrentRequestsPerContainer: expected an integer >= 1, got 0'],
    ],
    [
      'negative queue wait',
      { computeType: 'aks', maxQueueWaitMs: -5 },
      ['maxQueueWaitMs: expected an integer >= 0, got -5'],
    ],
    [
      'liveness success threshold 0',
      { computeType: 'aks', livenessProbeRequirements: { successThreshold: 0 } },
      ['livenessProbeRequirements.successThreshold: expected an integer >= 1, got 0'],
    ],
    [
      'computeTargetName that is not a name',
      { computeType: 'aks', computeTargetName: 'my cluster' },
      [
        'computeTargetName: expected a compute target name (letters, digits, ".", "_" and "-"), got "my cluster"',
      ],
    ],
    [
      'an AKS endpoint setting',
      { computeType: 'aks', trafficPercentile: 20 },
      [
        'trafficPercentile: unknown field; an AKS endpoint (computeType "AKSENDPOINT") setting; skiff does not split traffic between services',
      ],
    ],
    [
      'an ACI network setting',
      { computeType: 'aks', vnetName: 'v' },
      [
        'vnetName: unknown field; an Azure Container Instances network setting; the cluster decides the network',
      ],
    ],
    [
      'liveness period 0',
      { computeType: 'aks', livenessProbeRequirements: { periodSeconds: 0 } },
      ['livenessProbeRequirements.periodSeconds: expected an integer >= 1, got 0'],
    ],
    [
      'unknown liveness field',
      { computeType: 'aks', livenessProbeRequirements: { period: 5 } },
      ['livenessProbeRequirements.period: unknown field; did you mean "periodSeconds"?'],
    ],
    [
      'misspelled top-level field',
      { computeType: 'aks', autoscaler: {} },
      ['autoscaler: unknown field; did you mean "autoScaler"?'],
    ],
    [
      'ACI field',
      { computeType: 'aks', sslEnabled: true },
      [
        'sslEnabled: unknown field; an Azure Container Instances setting; skiff terminates TLS at the router',
      ],
    ],
    [
      'storage flag not boolean',
      { computeType: 'aks', dataCollection: { storageEnabled: 1 } },
      ['dataCollection.storageEnabled: expected true or false, got 1'],
    ],
    [
      'unknown data collection field',
      { computeType: 'aks', dataCollection: { enabled: true } },
      ['dataCollection.enabled: unknown field; expected one of: storageEnabled'],
    ],
    [
      'key with a space',
      { computeType: 'aks', keys: { primaryKey: 'a b' } },
      ['keys.primaryKey: expected a non-empty key of printable ASCII without spaces, got "a b"'],
    ],
    [
      'empty key',
      { computeType: 'aks', keys: { secondaryKey: '' } },
      ['keys.secondaryKey: expected a non-empty key of printable ASCII without spaces, got ""'],
    ],
    [
      'tag value not a string',
      { computeType: 'aks', tags: { team: 1 } },
      ['tags.team: expected a string, got 1'],
    ],
    [
      'port with aks',
      { computeType: 'aks', port: 8080 },
      ['port: only allowed with computeType "local", got 8080 with "aks"'],
    ],
    [
      'port out of range',
      { computeType: 'local', port: 70000 },
      ['port: expected an integer from 1 to 65535, got 70000'],
    ],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(issuesOf(input)).toEqual(expected);
  });

  it('reports every problem of a file at once', () => {
    expect(issuesOf(fixture('invalid/many-problems.deploymentconfig.json'))).toEqual([
      'computeType: expected "aks" or "local", got "aci"',
      'autoScaler.targetUtilization: expected an integer from 1 to 100, got 150',
      'containerResourceRequirements.gpu: expected an integer >= 0, got 0.5',
      `namespace: expected a DNS label (at most 63 characters of a-z, 0-9 and '-', not starting or ending with '-'), got "Team_Fraud"`,
      'sslEnabled: unknown field; an Azure Container Instances setting; skiff terminates TLS at the router',
      'numReplicas: not allowed with autoScaler.autoscaleEnabled true; set one or the other',
      'autoScaler.minReplicas: expected at most autoScaler.maxReplicas (2), got 5',
      'tokenAuthEnabled: not allowed with authEnabled true; enable key auth or token auth, not both',
      'containerResourceRequirements.cpuLimit: expected at least containerResourceRequirements.cpu (2), got 1',
    ]);
  });

  it('throws a ConfigError whose message has one line per issue, naming the file', () => {
    const attempt = () =>
      parseDeploymentConfig(
        { computeType: 'aks', autoScaler: { targetUtilization: 150 }, numReplicas: -1 },
        { file: 'deploymentconfig.json' },
      );
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const e = error as ConfigError;
      expect(e.message.split('\n')).toEqual([
        'deploymentconfig.json: autoScaler.targetUtilization: expected an integer from 1 to 100, got 150',
        'deploymentconfig.json: numReplicas: expected an integer greater than zero (Azure ML v1 refused it too: a service needs a replica to answer; leave numReplicas unset to autoscale), got -1',
      ]);
      expect(e.issues.map((i) => i.file)).toEqual([
        'deploymentconfig.json',
        'deploymentconfig.json',
      ]);
    }
  });
});

const validDeploymentConfig = fc.record(
  {
    computeType: fc.constantFrom('aks', 'AKS', 'local', 'Local'),
    autoScaler: fc.record(
      {
        minReplicas: fc.integer({ min: 1, max: 5 }),
        maxReplicas: fc.integer({ min: 5, max: 500 }),
        refreshPeriodInSeconds: fc.integer({ min: 1, max: 60 }),
        targetUtilization: fc.integer({ min: 1, max: 100 }),
      },
      { requiredKeys: [] },
    ),
    computeTargetName: fc.option(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/)),
    numReplicas: fc.option(fc.integer({ min: 1, max: 100 })),
    containerResourceRequirements: fc.record(
      {
        cpu: fc.double({ min: 0.01, max: 4, noNaN: true }),
        memoryInGB: fc.double({ min: 0.01, max: 4, noNaN: true }),
        cpuLimit: fc.double({ min: 4, max: 64, noNaN: true }),
        memoryInGBLimit: fc.double({ min: 4, max: 64, noNaN: true }),
        gpu: fc.integer({ min: 0, max: 8 }),
        fpga: fc.integer({ min: 0, max: 2 }),
      },
      { requiredKeys: [] },
    ),
    authEnabled: fc.boolean(),
    scoringTimeoutMs: fc.integer({ min: 1, max: 300_000 }),
    maxConcurrentRequestsPerContainer: fc.integer({ min: 1, max: 64 }),
    maxQueueWaitMs: fc.integer({ min: 0, max: 60_000 }),
    namespace: fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/),
    tags: fc.dictionary(fc.string(), fc.string()),
    description: fc.string(),
  },
  { requiredKeys: ['computeType'] },
);

describe('properties', () => {
  it('normalizing a normalized configuration changes nothing', () => {
    fc.assert(
      fc.property(validDeploymentConfig, fc.boolean(), (input, enableGpu) => {
        const once = parseDeploymentConfig(input, { enableGpu });
        const twice = parseDeploymentConfig(JSON.parse(JSON.stringify(once)), { enableGpu });
        expect(twice).toEqual(once);
      }),
    );
  });

  it('any targetUtilization outside 1-100 (or not an integer) is rejected naming the field', () => {
    const bad = fc.oneof(
      fc.integer({ max: 0 }),
      fc.integer({ min: 101 }),
      fc.double({ min: 1.001, max: 99.999, noNaN: true }).filter((v) => !Number.isInteger(v)),
    );
    fc.assert(
      fc.property(bad, (targetUtilization) => {
        const issues = issuesOf({ computeType: 'aks', autoScaler: { targetUtilization } });
        expect(issues).toEqual([
          `autoScaler.targetUtilization: expected an integer from 1 to 100, got ${targetUtilization}`,
        ]);
      }),
    );
  });

  it('any unknown top-level field is reported by name, and nothing else is', () => {
    const known = new Set(
      Object.keys(parseDeploymentConfig({ computeType: 'aks' })).concat('gpuCores'),
    );
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((k) => !known.has(k) && k !== '__proto__'),
        fc.jsonValue(),
        (key, value) => {
          const issues = issuesOf({ computeType: 'aks', [key]: value });
          expect(issues).toHaveLength(1);
          expect(issues[0]!.startsWith(`${key}: unknown field`)).toBe(true);
        },
      ),
    );
  });

  it('any JSON value either normalizes or yields issues naming the file; it never throws', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => {
        const result = checkDeploymentConfig(input, { file: 'dc.json' });
        if (!result.ok) {
          expect(result.issues.length).toBeGreaterThan(0);
          for (const issue of result.issues) expect(issue.file).toBe('dc.json');
        }
      }),
    );
  });
});
