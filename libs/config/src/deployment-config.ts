// Azure ML v1 `deploymentconfig.json` for AKS (and skiff's `local`): schema, cross-field rules,
// and normalization to one fully defaulted DeploymentConfig.
import * as z from 'zod';
import { DEPLOYMENT_DEFAULTS as D } from './defaults.js';
import {
  boolean,
  caseInsensitiveEnum,
  describeValue,
  expecting,
  integer,
  matching,
  object,
  positiveNumber,
  string,
  stringMap,
  toConfigIssues,
} from './fields.js';
import { ConfigError, type ConfigIssue } from './issues.js';
import { MAX_NAMESPACE_LENGTH, isNamespaceName } from './names.js';

/** Where a service runs: a Kubernetes cluster (`aks`, any cluster) or this machine (`local`). */
export type ComputeType = 'aks' | 'local';

/** Replica autoscaling (`autoScaler.*`). */
export interface AutoScalerConfig {
  /** Whether replicas scale with demand; on unless `numReplicas` is set. */
  readonly autoscaleEnabled: boolean;
  /** Fewest replicas (default 1). */
  readonly minReplicas: number;
  /** Most replicas (default 10). */
  readonly maxReplicas: number;
  /** Seconds between scale decisions (default 1). */
  readonly refreshPeriodInSeconds: number;
  /** Target utilization in percent, 1-100 (default 70). */
  readonly targetUtilization: number;
}

/** Requests and limits of one replica (`containerResourceRequirements.*`). */
export interface ContainerResourceRequirements {
  /** CPU cores requested (default 0.1). */
  readonly cpu: number;
  /** Memory requested, GB (default 0.5). */
  readonly memoryInGB: number;
  /** CPU core limit, >= `cpu`; null for none. */
  readonly cpuLimit: number | null;
  /** Memory limit, GB, >= `memoryInGB`; null for none. */
  readonly memoryInGBLimit: number | null;
  /** GPUs (default 1 when the inference configuration enables GPU, else 0). */
  readonly gpu: number;
  /** FPGAs (default 0). */
  readonly fpga: number;
}

/** Caller-chosen service keys; null means "generate one". */
export interface ServiceKeysConfig {
  readonly primaryKey: string | null;
  readonly secondaryKey: string | null;
}

/** The replica's liveness probe, in seconds (`livenessProbeRequirements.*`). */
export interface LivenessProbeRequirements {
  /** Seconds between probes (default 10). */
  readonly periodSeconds: number;
  /** Seconds before the first probe (default 310). */
  readonly initialDelaySeconds: number;
  /** Seconds before a probe times out (default 2). */
  readonly timeoutSeconds: number;
  /**
   * Consecutive successes before a replica that failed a probe counts as ready again (default
   * 1). Any value >= 1, as in v1; Kubernetes allows only 1 on a liveness probe, so skiff's
   * liveness probe uses 1 and the readiness probe (which takes the replica out of routing)
   * uses this value.
   */
  readonly successThreshold: number;
  /** Failures before the replica is restarted (default 3). */
  readonly failureThreshold: number;
}

/**
 * A validated `deploymentconfig.json` with every default filled. Its JSON form is itself a
 * valid deployment configuration that normalizes to the same value.
 */
export interface DeploymentConfig {
  readonly computeType: ComputeType;
  /**
   * The compute target to deploy to, as v1's `computeTargetName`; null when the file names
   * none. The caller's own choice (`skiff model deploy --ct`) wins over it.
   */
  readonly computeTargetName: string | null;
  /** Port of a `local` service; null lets skiff choose (always null for `aks`). */
  readonly port: number | null;
  readonly autoScaler: AutoScalerConfig;
  /** Fixed replica count when autoscale is off; null when autoscale is on. */
  readonly numReplicas: number | null;
  readonly containerResourceRequirements: ContainerResourceRequirements;
  /** Key authentication (default true unless token auth is on). */
  readonly authEnabled: boolean;
  /** Token authentication (default false). */
  readonly tokenAuthEnabled: boolean;
  readonly keys: ServiceKeysConfig;
  /** A scoring call running longer gets 504 (default 60000). */
  readonly scoringTimeoutMs: number;
  /** Requests one replica handles at once (default 1). */
  readonly maxConcurrentRequestsPerContainer: number;
  /** Longest wait for a free replica before 503 (default 500). */
  readonly maxQueueWaitMs: number;
  readonly livenessProbeRequirements: LivenessProbeRequirements;
  /** Whether model inputs and outputs are recorded (default false). */
  readonly dataCollection: { readonly storageEnabled: boolean };
  /** Request telemetry (default false). */
  readonly appInsightsEnabled: boolean;
  /** Kubernetes namespace; null means the workspace's, filled by the caller. */
  readonly namespace: string | null;
  readonly description: string | null;
  readonly tags: Readonly<Record<string, string>>;
  readonly properties: Readonly<Record<string, string>>;
}

/** Options of {@link checkDeploymentConfig} / {@link parseDeploymentConfig}. */
export interface DeploymentConfigOptions {
  /** File name used in issues; default `deploymentconfig.json`. */
  readonly file?: string;
  /**
   * Whether the inference configuration enables GPU; sets the default GPU count to 1.
   * Default false.
   */
  readonly enableGpu?: boolean;
}

/** Either a valid configuration or every problem found. */
export type ConfigResult<T> =
  | { readonly ok: true; readonly config: T }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

// Azure ML v1 refused replica counts below one ("must be greater than zero"); say so, and why,
// rather than only "expected an integer >= 1".
const atLeastOneReplica = (why: string) => {
  const e = expecting(`an integer greater than zero (Azure ML v1 refused it too: ${why})`);
  return z.number(e).int(e).min(1, e);
};

const serviceKey = () =>
  matching(/^[\x21-\x7e]+$/, 'a non-empty key of printable ASCII without spaces');

/** The accepted fields; every one may also be null, which means "unset" (v1 scaffolds write null). */
export const deploymentConfigSchema = object({
  computeType: caseInsensitiveEnum(['aks', 'local'] as const),
  computeTargetName: matching(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'a compute target name (letters, digits, ".", "_" and "-")',
  ).nullish(),
  port: integer(1, 65535).nullish(),
  autoScaler: object({
    autoscaleEnabled: boolean().nullish(),
    minReplicas: atLeastOneReplica('an autoscaled service keeps at least one replica').nullish(),
    maxReplicas: integer(1).nullish(),
    refreshPeriodInSeconds: integer(1).nullish(),
    targetUtilization: integer(1, 100).nullish(),
  }).nullish(),
  numReplicas: atLeastOneReplica(
    'a service needs a replica to answer; leave numReplicas unset to autoscale',
  ).nullish(),
  containerResourceRequirements: object({
    cpu: positiveNumber().nullish(),
    memoryInGB: positiveNumber().nullish(),
    cpuLimit: positiveNumber().nullish(),
    memoryInGBLimit: positiveNumber().nullish(),
    gpu: integer(0).nullish(),
    fpga: integer(0).nullish(),
  }).nullish(),
  gpuCores: integer(0).nullish(),
  authEnabled: boolean().nullish(),
  tokenAuthEnabled: boolean().nullish(),
  keys: object({
    primaryKey: serviceKey().nullish(),
    secondaryKey: serviceKey().nullish(),
  }).nullish(),
  scoringTimeoutMs: integer(1).nullish(),
  maxConcurrentRequestsPerContainer: integer(1).nullish(),
  maxQueueWaitMs: integer(0).nullish(),
  livenessProbeRequirements: object({
    periodSeconds: integer(1).nullish(),
    initialDelaySeconds: integer(0).nullish(),
    timeoutSeconds: integer(1).nullish(),
    // v1 accepted any positive count; see LivenessProbeRequirements.successThreshold.
    successThreshold: integer(1).nullish(),
    failureThreshold: integer(1).nullish(),
  }).nullish(),
  dataCollection: object({ storageEnabled: boolean().nullish() }).nullish(),
  appInsightsEnabled: boolean().nullish(),
  namespace: z
    .string(expecting('a Kubernetes namespace name'))
    .refine(
      isNamespaceName,
      expecting(
        `a DNS label (at most ${MAX_NAMESPACE_LENGTH} characters of a-z, 0-9 and '-', not starting or ending with '-')`,
      ),
    )
    .nullish(),
  description: string('a string', { allowEmpty: true }).nullish(),
  tags: stringMap().nullish(),
  properties: stringMap().nullish(),
});

// Azure Container Instances settings that v1 users carry over; say why they do not apply.
const ACI_HINT = 'an Azure Container Instances setting; skiff deploys to "aks" or "local" only';
const TLS_HINT = 'an Azure Container Instances setting; skiff terminates TLS at the router';
const DEPLOYMENT_HINTS: Readonly<Record<string, string>> = {
  sslEnabled: TLS_HINT,
  sslCertificate: TLS_HINT,
  sslKey: TLS_HINT,
  sslCname: TLS_HINT,
  cname: TLS_HINT,
  dnsNameLabel: ACI_HINT,
  location: ACI_HINT,
  cpuCores: 'an Azure Container Instances setting; use containerResourceRequirements.cpu',
  memoryGb: 'an Azure Container Instances setting; use containerResourceRequirements.memoryInGB',
  vaultBaseUrl: 'an Azure Container Instances encryption setting; skiff does not use Key Vault',
  keyName: 'an Azure Container Instances encryption setting; skiff does not use Key Vault',
  keyVersion: 'an Azure Container Instances encryption setting; skiff does not use Key Vault',
  vnetName: 'an Azure Container Instances network setting; the cluster decides the network',
  subnetName: 'an Azure Container Instances network setting; the cluster decides the network',
  versionName:
    'an AKS endpoint (computeType "AKSENDPOINT") setting; skiff has no endpoints with versions: deploy one service per version',
  trafficPercentile:
    'an AKS endpoint (computeType "AKSENDPOINT") setting; skiff does not split traffic between services',
};

type RawDeploymentConfig = z.output<typeof deploymentConfigSchema>;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const field = (v: unknown, ...path: string[]): unknown => {
  let current = v;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
};
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

// Rules between fields, checked on the raw input so they are reported together with the
// per-field problems; each rule only looks at fields that are individually well-typed.
function crossFieldIssues(raw: unknown, file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string) => issues.push({ file, path, message });

  const autoscale = field(raw, 'autoScaler', 'autoscaleEnabled');
  const numReplicas = field(raw, 'numReplicas');
  if (isNumber(numReplicas) && autoscale === true) {
    add('numReplicas', 'not allowed with autoScaler.autoscaleEnabled true; set one or the other');
  }
  const min = field(raw, 'autoScaler', 'minReplicas');
  const max = field(raw, 'autoScaler', 'maxReplicas');
  const effectiveMax = isNumber(max) ? max : D.autoScaler.maxReplicas;
  if (isNumber(min) && min > effectiveMax) {
    const what = isNumber(max) ? 'autoScaler.maxReplicas' : 'the default maxReplicas';
    add('autoScaler.minReplicas', `expected at most ${what} (${effectiveMax}), got ${min}`);
  }
  if (field(raw, 'authEnabled') === true && field(raw, 'tokenAuthEnabled') === true) {
    add(
      'tokenAuthEnabled',
      'not allowed with authEnabled true; enable key auth or token auth, not both',
    );
  }
  const crr = 'containerResourceRequirements';
  for (const [request, limit, fallback] of [
    ['cpu', 'cpuLimit', D.containerResourceRequirements.cpu],
    ['memoryInGB', 'memoryInGBLimit', D.containerResourceRequirements.memoryInGB],
  ] as const) {
    const requested = field(raw, crr, request);
    const limited = field(raw, crr, limit);
    const effective = isNumber(requested) && requested > 0 ? requested : fallback;
    if (isNumber(limited) && limited > 0 && limited < effective) {
      const what = isNumber(requested) ? `${crr}.${request}` : `the default ${request}`;
      add(`${crr}.${limit}`, `expected at least ${what} (${effective}), got ${limited}`);
    }
  }
  const gpu = field(raw, crr, 'gpu');
  const gpuCores = field(raw, 'gpuCores');
  if (isNumber(gpu) && isNumber(gpuCores) && gpu !== gpuCores) {
    add('gpuCores', `conflicts with ${crr}.gpu (${gpu}), got ${gpuCores}; set only one of them`);
  }
  const computeType = field(raw, 'computeType');
  const port = field(raw, 'port');
  if (isNumber(port) && typeof computeType === 'string' && computeType.toLowerCase() === 'aks') {
    add('port', `only allowed with computeType "local", got ${describeValue(port)} with "aks"`);
  }
  return issues;
}

function normalize(c: RawDeploymentConfig, enableGpu: boolean): DeploymentConfig {
  const numReplicas =
    c.numReplicas ??
    (c.autoScaler?.autoscaleEnabled === false ? D.numReplicasWithoutAutoscale : null);
  const tokenAuthEnabled = c.tokenAuthEnabled ?? D.tokenAuthEnabled;
  const crr = c.containerResourceRequirements;
  const probe = c.livenessProbeRequirements;
  return {
    computeType: c.computeType,
    computeTargetName: c.computeTargetName ?? null,
    port: c.computeType === 'local' ? (c.port ?? null) : null,
    autoScaler: {
      autoscaleEnabled: numReplicas === null,
      minReplicas: c.autoScaler?.minReplicas ?? D.autoScaler.minReplicas,
      maxReplicas: c.autoScaler?.maxReplicas ?? D.autoScaler.maxReplicas,
      refreshPeriodInSeconds:
        c.autoScaler?.refreshPeriodInSeconds ?? D.autoScaler.refreshPeriodInSeconds,
      targetUtilization: c.autoScaler?.targetUtilization ?? D.autoScaler.targetUtilization,
    },
    numReplicas,
    containerResourceRequirements: {
      cpu: crr?.cpu ?? D.containerResourceRequirements.cpu,
      memoryInGB: crr?.memoryInGB ?? D.containerResourceRequirements.memoryInGB,
      cpuLimit: crr?.cpuLimit ?? null,
      memoryInGBLimit: crr?.memoryInGBLimit ?? null,
      gpu:
        crr?.gpu ?? c.gpuCores ?? (enableGpu ? D.containerResourceRequirements.gpuWhenEnabled : 0),
      fpga: crr?.fpga ?? D.containerResourceRequirements.fpga,
    },
    // Turning token auth on without mentioning key auth means "token auth instead".
    authEnabled: c.authEnabled ?? (tokenAuthEnabled ? false : D.authEnabled),
    tokenAuthEnabled,
    keys: { primaryKey: c.keys?.primaryKey ?? null, secondaryKey: c.keys?.secondaryKey ?? null },
    scoringTimeoutMs: c.scoringTimeoutMs ?? D.scoringTimeoutMs,
    maxConcurrentRequestsPerContainer:
      c.maxConcurrentRequestsPerContainer ?? D.maxConcurrentRequestsPerContainer,
    maxQueueWaitMs: c.maxQueueWaitMs ?? D.maxQueueWaitMs,
    livenessProbeRequirements: {
      periodSeconds: probe?.periodSeconds ?? D.livenessProbeRequirements.periodSeconds,
      initialDelaySeconds:
        probe?.initialDelaySeconds ?? D.livenessProbeRequirements.initialDelaySeconds,
      timeoutSeconds: probe?.timeoutSeconds ?? D.livenessProbeRequirements.timeoutSeconds,
      successThreshold: probe?.successThreshold ?? D.livenessProbeRequirements.successThreshold,
      failureThreshold: probe?.failureThreshold ?? D.livenessProbeRequirements.failureThreshold,
    },
    dataCollection: {
      storageEnabled: c.dataCollection?.storageEnabled ?? D.dataCollection.storageEnabled,
    },
    appInsightsEnabled: c.appInsightsEnabled ?? D.appInsightsEnabled,
    namespace: c.namespace ?? null,
    description: c.description ?? null,
    tags: { ...c.tags },
    properties: { ...c.properties },
  };
}

/**
 * Validates an Azure ML v1 `deploymentconfig.json` (already parsed from JSON) and normalizes
 * it: every default of SPEC.md §1 filled, v1 aliases (`gpuCores`) folded in, `computeType`
 * lower-cased. Returns every problem at once instead of throwing.
 */
export function checkDeploymentConfig(
  input: unknown,
  options: DeploymentConfigOptions = {},
): ConfigResult<DeploymentConfig> {
  const file = options.file ?? 'deploymentconfig.json';
  const enableGpu = options.enableGpu ?? false;
  if (!isRecord(input)) {
    return {
      ok: false,
      issues: [{ file, path: '', message: `expected a JSON object, got ${describeValue(input)}` }],
    };
  }
  const parsed = deploymentConfigSchema.safeParse(input, { reportInput: true });
  const issues = [
    ...(parsed.success
      ? []
      : toConfigIssues(file, deploymentConfigSchema, parsed.error.issues, DEPLOYMENT_HINTS)),
    ...crossFieldIssues(input, file),
  ];
  if (issues.length > 0 || !parsed.success) return { ok: false, issues };
  return { ok: true, config: normalize(parsed.data, enableGpu) };
}

/**
 * Like {@link checkDeploymentConfig}, but throws a {@link ConfigError} listing every problem.
 */
export function parseDeploymentConfig(
  input: unknown,
  options: DeploymentConfigOptions = {},
): DeploymentConfig {
  const result = checkDeploymentConfig(input, options);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.config;
}
