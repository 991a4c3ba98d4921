import { createHash } from 'node:crypto';
import {
  checkDeploymentConfig,
  defaultBaseImage,
  formatConfigIssue,
  type DeploymentConfig as V1DeploymentConfig,
} from '@skiff/config';
import { InvalidArgumentError } from '@skiff/errors';
import { environmentDefinitionOf, environmentHash } from '@skiff/hashing';
import {
  ComputeType,
  WebserviceSpec,
  type DeploymentConfig,
  type Duration,
  type InferenceConfig,
} from '@skiff/proto';

/** A spec checked against the v1 rules, with every default filled. */
export interface NormalizedSpec {
  /** The spec as stored and returned: effective configuration, caller keys removed. */
  spec: WebserviceSpec;
  /** The v1 view of the deployment configuration (what the libs/config rules produced). */
  deployment: V1DeploymentConfig;
  /** Caller-chosen keys from `deployment_config.keys`, never stored in the spec. */
  keys: { primary?: string; secondary?: string };
  environmentHash: string;
}

const ms = (d: Duration | undefined): number | undefined =>
  d === undefined ? undefined : d.seconds * 1_000 + Math.round(d.nanos / 1e6);
const seconds = (d: Duration | undefined): number | undefined =>
  d === undefined ? undefined : d.seconds + d.nanos / 1e9;
const duration = (millis: number): Duration => ({
  seconds: Math.floor(millis / 1_000),
  nanos: (millis % 1_000) * 1e6,
});

function defined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined && v !== ''),
  ) as Partial<T>;
}

/**
 * The API's DeploymentConfig in the JSON shape of a v1 deploymentconfig.json, with only the
 * fields the caller set, so the libs/config rules (and their messages, which name the v1
 * fields users write) apply unchanged.
 */
export function toV1DeploymentJson(dc: DeploymentConfig | undefined): Record<string, unknown> {
  if (!dc) return { computeType: 'aks' };
  const a = dc.autoScaler;
  const r = dc.containerResourceRequirements;
  const l = dc.livenessProbeRequirements;
  return defined({
    computeType: dc.computeType === ComputeType.COMPUTE_TYPE_LOCAL ? 'local' : 'aks',
    autoScaler: a
      ? defined({
          autoscaleEnabled: a.autoscaleEnabled,
          minReplicas: a.minReplicas,
          maxReplicas: a.maxReplicas,
          refreshPeriodInSeconds: seconds(a.refreshPeriod),
          targetUtilization: a.targetUtilization,
        })
      : undefined,
    numReplicas: dc.numReplicas,
    containerResourceRequirements: r
      ? defined({
          cpu: r.cpu,
          memoryInGB: r.memoryInGb,
          cpuLimit: r.cpuLimit,
          memoryInGBLimit: r.memoryInGbLimit,
          gpu: r.gpu,
          fpga: r.fpga,
        })
      : undefined,
    authEnabled: dc.authEnabled,
    tokenAuthEnabled: dc.tokenAuthEnabled,
    keys: dc.keys
      ? defined({ primaryKey: dc.keys.primaryKey, secondaryKey: dc.keys.secondaryKey })
      : undefined,
    scoringTimeoutMs: ms(dc.scoringTimeout),
    maxConcurrentRequestsPerContainer: dc.maxConcurrentRequestsPerContainer,
    maxQueueWaitMs: ms(dc.maxQueueWait),
    livenessProbeRequirements: l
      ? defined({
          periodSeconds: seconds(l.period),
          initialDelaySeconds: seconds(l.initialDelay),
          timeoutSeconds: seconds(l.timeout),
          successThreshold: l.successThreshold,
          failureThreshold: l.failureThreshold,
        })
      : undefined,
    dataCollection: dc.dataCollection
      ? defined({ storageEnabled: dc.dataCollection.storageEnabled })
      : undefined,
    appInsightsEnabled: dc.appInsightsEnabled,
    namespace: dc.namespace,
    description: dc.description,
    tags: Object.keys(dc.tags).length > 0 ? dc.tags : undefined,
    properties: Object.keys(dc.properties).length > 0 ? dc.properties : undefined,
  });
}

/** The effective configuration in the API's shape (every field set; keys left out). */
export function fromV1Deployment(config: V1DeploymentConfig, namespace: string): DeploymentConfig {
  const a = config.autoScaler;
  const r = config.containerResourceRequirements;
  const l = config.livenessProbeRequirements;
  return {
    computeType:
      config.computeType === 'local'
        ? ComputeType.COMPUTE_TYPE_LOCAL
        : ComputeType.COMPUTE_TYPE_AKS,
    autoScaler: {
      autoscaleEnabled: a.autoscaleEnabled,
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      refreshPeriod: duration(a.refreshPeriodInSeconds * 1_000),
      targetUtilization: a.targetUtilization,
    },
    ...(config.numReplicas === null ? {} : { numReplicas: config.numReplicas }),
    containerResourceRequirements: {
      cpu: r.cpu,
      memoryInGb: r.memoryInGB,
      ...(r.cpuLimit === null ? {} : { cpuLimit: r.cpuLimit }),
      ...(r.memoryInGBLimit === null ? {} : { memoryInGbLimit: r.memoryInGBLimit }),
      gpu: r.gpu,
      fpga: r.fpga,
    },
    authEnabled: config.authEnabled,
    tokenAuthEnabled: config.tokenAuthEnabled,
    scoringTimeout: duration(config.scoringTimeoutMs),
    maxConcurrentRequestsPerContainer: config.maxConcurrentRequestsPerContainer,
    maxQueueWait: duration(config.maxQueueWaitMs),
    livenessProbeRequirements: {
      period: duration(l.periodSeconds * 1_000),
      initialDelay: duration(l.initialDelaySeconds * 1_000),
      timeout: duration(l.timeoutSeconds * 1_000),
      successThreshold: l.successThreshold,
      failureThreshold: l.failureThreshold,
    },
    dataCollection: { storageEnabled: config.dataCollection.storageEnabled },
    appInsightsEnabled: config.appInsightsEnabled,
    namespace: config.namespace ?? namespace,
    description: config.description ?? '',
    tags: { ...config.tags },
    properties: { ...config.properties },
  };
}

const SAFE_RELATIVE = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\0]+$/;

/** Checks and completes the inference configuration; problems name `spec.inference_config.*`. */
function normalizeInference(ic: InferenceConfig | undefined, problems: string[]): InferenceConfig {
  const field = 'spec.inference_config';
  const entry = ic?.entryScript ?? '';
  if (entry === '')
    problems.push(
      `${field}.entry_script: required, expected the entry script's path, e.g. "score.py"`,
    );
  else if (!SAFE_RELATIVE.test(entry)) {
    problems.push(
      `${field}.entry_script: expected a relative path inside the source directory, got '${entry}'`,
    );
  }
  const inferred = /\.(m?js|ts)$/.test(entry) ? 'node' : 'python';
  const given = (ic?.runtime ?? '').toLowerCase();
  const runtime = given === '' ? inferred : given === 'javascript' ? 'node' : given;
  if (runtime !== 'python' && runtime !== 'node') {
    problems.push(
      `${field}.runtime: expected "python" or "node" (or empty to infer it from the entry script), got '${given}'`,
    );
  }
  const env = ic?.environment;
  const gpu = env?.enableGpu ?? false;
  const docker = env?.docker;
  const baseImage = docker?.baseImage || (docker?.baseDockerfile ? '' : defaultBaseImage(gpu));
  return {
    entryScript: entry,
    runtime,
    sourceDirectory: ic?.sourceDirectory ?? '',
    description: ic?.description ?? '',
    environment: {
      name: env?.name ?? '',
      version: env?.version ?? '',
      docker: {
        baseImage,
        baseDockerfile: docker?.baseDockerfile ?? '',
        // The registry password is a secret: it never enters the stored spec.
        baseImageRegistry: docker?.baseImageRegistry
          ? {
              address: docker.baseImageRegistry.address,
              username: docker.baseImageRegistry.username,
              password: '',
            }
          : undefined,
        enabled: docker?.enabled ?? true,
        arguments: docker?.arguments ?? [],
        shmSize: docker?.shmSize ?? '',
      },
      python: {
        condaDependencies: env?.python?.condaDependencies ?? '',
        userManagedDependencies: env?.python?.userManagedDependencies ?? false,
        interpreterPath: env?.python?.interpreterPath ?? '',
        baseCondaEnvironment: env?.python?.baseCondaEnvironment ?? '',
      },
      environmentVariables: { ...(env?.environmentVariables ?? {}) },
      extraDockerfileSteps: env?.extraDockerfileSteps ?? '',
      pipRequirements: env?.pipRequirements ?? '',
      enableGpu: gpu,
      cudaVersion: env?.cudaVersion ?? '',
      inferencingStackVersion: env?.inferencingStackVersion ?? '',
    },
  };
}

/**
 * Validates a webservice spec with the libs/config rules and completes it. Every problem is
 * reported at once in one INVALID_ARGUMENT whose message lists them, one per line.
 * @throws InvalidArgumentError
 */
export function normalizeSpec(
  spec: WebserviceSpec | undefined,
  workspaceNamespace: string,
): NormalizedSpec {
  const problems: string[] = [];
  const inference = normalizeInference(spec?.inferenceConfig, problems);
  const checked = checkDeploymentConfig(toV1DeploymentJson(spec?.deploymentConfig), {
    file: 'spec.deployment_config',
    enableGpu: inference.environment?.enableGpu ?? false,
  });
  if (!checked.ok) problems.push(...checked.issues.map(formatConfigIssue));
  if (problems.length > 0 || !checked.ok) {
    const first = problems[0] ?? 'invalid spec';
    throw new InvalidArgumentError(
      problems.length === 1 ? first : `${problems.length} problems:\n${problems.join('\n')}`,
      {
        problems,
        field: first.split(':')[0] ?? 'spec',
      },
    );
  }
  const deployment = checked.config;
  const hash = environmentHash(environmentDefinitionOf(inference.environment));
  const normalized: WebserviceSpec = {
    compute: spec?.compute ?? '',
    models: spec?.models ?? [],
    snapshotDigest: spec?.snapshotDigest ?? '',
    inferenceConfig: inference,
    deploymentConfig: fromV1Deployment(deployment, workspaceNamespace),
  };
  const keys = {
    ...(deployment.keys.primaryKey ? { primary: deployment.keys.primaryKey } : {}),
    ...(deployment.keys.secondaryKey ? { secondary: deployment.keys.secondaryKey } : {}),
  };
  return {
    spec: normalized,
    deployment,
    keys,
    environmentHash: hash,
  };
}

/** sha256 of the spec's JSON mapping with sorted keys (equal specs hash equally). */
export function specHashOf(spec: WebserviceSpec): string {
  return createHash('sha256')
    .update(sortedJson(WebserviceSpec.toJSON(spec)))
    .digest('hex');
}

function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${sortedJson(record[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
