// The v1 inline flags of `az ml model deploy` / `az ml service update` (`--es`, `--cc`, `--ma`,
// ...): which v1 configuration field each one sets. The one table both commands use; the flags
// are merged into the v1 JSON before @skiff/config checks it, so a flag means exactly what the
// field means in a file, and a bad value is refused with the file rules, naming the flag.
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '@skiff/config';
import { Option, type Command } from 'commander';
import { keyValues } from '../output.js';

/** The `--help` sections the flags are listed under. */
export const INLINE_FLAG_GROUPS = {
  inference: 'Inference configuration (override --ic):',
  deployment: 'Deployment configuration (override --dc):',
  autoscale: 'Autoscaling (override --dc):',
  auth: 'Auth (override --dc):',
  probes: 'Liveness probe (override --dc):',
  metadata: 'Metadata (override --dc):',
} as const;
type Group = keyof typeof INLINE_FLAG_GROUPS;

type Kind = 'string' | 'path' | 'number' | 'boolean' | 'map';

/** One v1 inline flag and the configuration field it sets. */
export interface InlineFlag {
  /** commander flags: v1's short spelling, then the long one. */
  readonly flags: string;
  readonly description: string;
  readonly group: Group;
  /** Which configuration it overrides. */
  readonly config: 'inference' | 'deployment';
  /** The v1 JSON field (dotted); for inference, as the flat spelling names it. */
  readonly field: string;
  /** The field in the nested (`environment`) inference spelling, when it differs. */
  readonly nestedField?: string;
  readonly kind: Kind;
  /**
   * Deployment flags: the WebserviceSpec update-mask paths `service update` sends, every field
   * the v1 field decides after defaults (`--nr` also turns autoscaling off).
   */
  readonly mask?: readonly string[];
}

const dc = 'deployment_config';
const d = (
  flags: string,
  group: Group,
  field: string,
  kind: Kind,
  mask: readonly string[],
  description: string,
): InlineFlag => ({ flags, group, config: 'deployment', field, kind, mask, description });
const i = (
  flags: string,
  field: string,
  kind: Kind,
  description: string,
  nestedField?: string,
): InlineFlag => ({
  flags,
  group: 'inference',
  config: 'inference',
  field,
  kind,
  description,
  ...(nestedField === undefined ? {} : { nestedField }),
});

const replicas = [`${dc}.num_replicas`, `${dc}.auto_scaler.autoscale_enabled`];
const auth = [`${dc}.auth_enabled`, `${dc}.token_auth_enabled`];
const crr = `${dc}.container_resource_requirements`;
const probe = `${dc}.liveness_probe_requirements`;

/** Every inline flag, in `--help` order. */
export const INLINE_FLAGS: readonly InlineFlag[] = [
  i('--es, --entry-script <path>', 'entryScript', 'path', 'entry script (relative to --sd)'),
  i(
    '--sd, --source-directory <dir>',
    'sourceDirectory',
    'path',
    'source directory to snapshot (relative to the working directory)',
  ),
  i('--rt, --runtime <runtime>', 'runtime', 'string', 'python (or node)'),
  i(
    '--cf, --conda-file <file>',
    'condaFile',
    'path',
    'conda environment file (relative to --sd)',
    'environment.python.condaDependenciesFile',
  ),
  i(
    '--bi, --base-image <image>',
    'baseImage',
    'string',
    'base image of the environment',
    'environment.docker.baseImage',
  ),
  i(
    '--ds, --extra-docker-file-steps <file>',
    'extraDockerfileSteps',
    'path',
    'file of Dockerfile steps (relative to --sd)',
  ),
  i('--eg, --enable-gpu [bool]', 'enableGpu', 'boolean', 'GPU environment'),
  i('--cv, --cuda-version <version>', 'cudaVersion', 'string', 'CUDA version of a GPU image'),
  d(
    '--cp, --compute-type <type>',
    'deployment',
    'computeType',
    'string',
    [`${dc}.compute_type`],
    'aks or local (without --dc: aks)',
  ),
  d(
    '--cc, --cpu-cores <cores>',
    'deployment',
    'containerResourceRequirements.cpu',
    'number',
    [`${crr}.cpu`],
    'CPU cores per replica',
  ),
  d(
    '--ccl, --cpu-cores-limit <cores>',
    'deployment',
    'containerResourceRequirements.cpuLimit',
    'number',
    [`${crr}.cpu_limit`],
    'CPU limit per replica',
  ),
  d(
    '--gb, --memory-gb <gb>',
    'deployment',
    'containerResourceRequirements.memoryInGB',
    'number',
    [`${crr}.memory_in_gb`],
    'memory per replica, GB',
  ),
  d(
    '--gbl, --memory-gb-limit <gb>',
    'deployment',
    'containerResourceRequirements.memoryInGBLimit',
    'number',
    [`${crr}.memory_in_gb_limit`],
    'memory limit per replica, GB',
  ),
  d(
    '--gc, --gpu-cores <count>',
    'deployment',
    'containerResourceRequirements.gpu',
    'number',
    [`${crr}.gpu`],
    'GPUs per replica',
  ),
  d(
    '--nr, --num-replicas <count>',
    'deployment',
    'numReplicas',
    'number',
    replicas,
    'fixed replica count (no autoscaling)',
  ),
  d(
    '--tm, --scoring-timeout-ms <ms>',
    'deployment',
    'scoringTimeoutMs',
    'number',
    [`${dc}.scoring_timeout`],
    'scoring call timeout',
  ),
  d(
    '--rm, --replica-max-concurrent-requests <n>',
    'deployment',
    'maxConcurrentRequestsPerContainer',
    'number',
    [`${dc}.max_concurrent_requests_per_container`],
    'requests one replica handles at once',
  ),
  d(
    '--mr, --max-request-wait-time <ms>',
    'deployment',
    'maxQueueWaitMs',
    'number',
    [`${dc}.max_queue_wait`],
    'longest wait for a free replica before 503',
  ),
  d(
    '--ae, --autoscale-enabled [bool]',
    'autoscale',
    'autoScaler.autoscaleEnabled',
    'boolean',
    replicas,
    'autoscale (default unless --nr)',
  ),
  d(
    '--mi, --autoscale-min-replicas <n>',
    'autoscale',
    'autoScaler.minReplicas',
    'number',
    [`${dc}.auto_scaler.min_replicas`],
    'fewest replicas',
  ),
  d(
    '--ma, --autoscale-max-replicas <n>',
    'autoscale',
    'autoScaler.maxReplicas',
    'number',
    [`${dc}.auto_scaler.max_replicas`],
    'most replicas',
  ),
  d(
    '--at, --autoscale-target-utilization <percent>',
    'autoscale',
    'autoScaler.targetUtilization',
    'number',
    [`${dc}.auto_scaler.target_utilization`],
    'utilization to keep, 1-100',
  ),
  d(
    '--ar, --autoscale-refresh-seconds <s>',
    'autoscale',
    'autoScaler.refreshPeriodInSeconds',
    'number',
    [`${dc}.auto_scaler.refresh_period`],
    'how often to decide',
  ),
  d('--as, --auth-enabled [bool]', 'auth', 'authEnabled', 'boolean', auth, 'key auth'),
  d(
    '--token-auth-enabled [bool]',
    'auth',
    'tokenAuthEnabled',
    'boolean',
    auth,
    'token auth (turns key auth off unless --as)',
  ),
  d(
    '--kp, --primary-key <key>',
    'auth',
    'keys.primaryKey',
    'string',
    [`${dc}.keys.primary_key`],
    'primary key',
  ),
  d(
    '--ks, --secondary-key <key>',
    'auth',
    'keys.secondaryKey',
    'string',
    [`${dc}.keys.secondary_key`],
    'secondary key',
  ),
  d(
    '--ps, --period-seconds <s>',
    'probes',
    'livenessProbeRequirements.periodSeconds',
    'number',
    [`${probe}.period`],
    'probe period',
  ),
  d(
    '--id, --initial-delay-seconds <s>',
    'probes',
    'livenessProbeRequirements.initialDelaySeconds',
    'number',
    [`${probe}.initial_delay`],
    'delay before the first probe',
  ),
  d(
    '--ts, --timeout-seconds <s>',
    'probes',
    'livenessProbeRequirements.timeoutSeconds',
    'number',
    [`${probe}.timeout`],
    'probe timeout',
  ),
  d(
    '--st, --success-threshold <n>',
    'probes',
    'livenessProbeRequirements.successThreshold',
    'number',
    [`${probe}.success_threshold`],
    'successes to count as live',
  ),
  d(
    '--ft, --failure-threshold <n>',
    'probes',
    'livenessProbeRequirements.failureThreshold',
    'number',
    [`${probe}.failure_threshold`],
    'failures to restart a replica',
  ),
  d(
    '--ai, --enable-app-insights [bool]',
    'metadata',
    'appInsightsEnabled',
    'boolean',
    [`${dc}.app_insights_enabled`],
    'request telemetry',
  ),
  d(
    '--md, --collect-model-data [bool]',
    'metadata',
    'dataCollection.storageEnabled',
    'boolean',
    [`${dc}.data_collection.storage_enabled`],
    'record model inputs and outputs',
  ),
  d(
    '--namespace <name>',
    'metadata',
    'namespace',
    'string',
    [`${dc}.namespace`],
    'Kubernetes namespace',
  ),
  d(
    '--description <text>',
    'metadata',
    'description',
    'string',
    [`${dc}.description`],
    'service description',
  ),
  d(
    '--tag <key=value>',
    'metadata',
    'tags',
    'map',
    [`${dc}.tags`],
    'service tag (repeatable; added to the file’s)',
  ),
  d(
    '--property <key=value>',
    'metadata',
    'properties',
    'map',
    [`${dc}.properties`],
    'service property (repeatable; added to the file’s)',
  ),
];

function optionOf(flag: InlineFlag): Option {
  const option = new Option(flag.flags, flag.description).helpGroup(INLINE_FLAG_GROUPS[flag.group]);
  if (flag.kind === 'map') {
    option.argParser((value: string, previous: string[] | undefined) => [
      ...(previous ?? []),
      value,
    ]);
  }
  return option;
}

/** Adds every inline flag to `command`, each under its `--help` group. */
export function addInlineFlags(command: Command): Command {
  for (const flag of INLINE_FLAGS) command.addOption(optionOf(flag));
  return command;
}

/** The spelling a user knows a flag by, for messages: `--cc/--cpu-cores`. */
export function flagName(flag: InlineFlag): string {
  return flag.flags
    .split(/[ ,]+/)
    .filter((part) => part.startsWith('-'))
    .join('/');
}

const attributeOf = (flag: InlineFlag) => optionOf(flag).attributeName();

/** A flag given on the command line and the v1 value it stands for. */
export interface InlineValue {
  readonly flag: InlineFlag;
  readonly value: unknown;
}

/** The inline flags of one invocation, by configuration. */
export interface InlineFlags {
  readonly inference: readonly InlineValue[];
  readonly deployment: readonly InlineValue[];
}

// Numbers and booleans become JSON numbers and booleans; anything else stays the string typed,
// so the file rules refuse it ("expected an integer >= 1, got 'many'").
function v1Value(flag: InlineFlag, raw: unknown): unknown {
  if (flag.kind === 'map') return keyValues(raw as string[], flagName(flag));
  if (flag.kind === 'boolean') {
    if (raw === true) return true;
    const text = String(raw).toLowerCase();
    return text === 'true' ? true : text === 'false' ? false : raw;
  }
  if (flag.kind === 'number' && typeof raw === 'string' && /^[-+]?\d*\.?\d+$/.test(raw.trim())) {
    return Number(raw);
  }
  return raw;
}

/**
 * The inline flags among commander's `options`, converted to v1 values.
 *
 * @throws UsageError for a `--tag`/`--property` that is not key=value.
 */
export function readInlineFlags(options: object): InlineFlags {
  const given = options as Readonly<Record<string, unknown>>;
  const inference: InlineValue[] = [];
  const deployment: InlineValue[] = [];
  for (const flag of INLINE_FLAGS) {
    const raw = given[attributeOf(flag)];
    if (raw === undefined) continue;
    (flag.config === 'inference' ? inference : deployment).push({
      flag,
      value: v1Value(flag, raw),
    });
  }
  return { inference, deployment };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function setField(document: Record<string, unknown>, field: string, value: unknown): void {
  const keys = field.split('.');
  let at = document;
  for (const key of keys.slice(0, -1)) {
    const next = at[key];
    at = isRecord(next) ? next : (at[key] = {});
  }
  const last = keys.at(-1) ?? field;
  const current = at[last];
  // --tag/--property add to the file's maps; everything else replaces.
  at[last] = isRecord(value) && isRecord(current) ? { ...current, ...value } : value;
}

/**
 * `document` (a parsed v1 inferenceconfig, or `{}` without a file) with the inference flags
 * written into it, in the spelling the document uses (flat, or nested `environment`).
 * `--sd` is relative to `cwd`; `--es`, `--cf` and `--ds` to the source directory as in v1,
 * or to `cwd` when there is none. Paths are written as typed when the document's own folder
 * (`configDirectory`) is `cwd`, else made absolute.
 */
export function withInferenceFlags(
  document: unknown,
  flags: readonly InlineValue[],
  cwd: string,
  configDirectory: string,
): unknown {
  if (flags.length === 0 || !isRecord(document)) return document;
  const merged = structuredClone(document);
  const nested = 'environment' in merged;
  const hasSourceDirectory =
    flags.some((f) => f.flag.field === 'sourceDirectory') ||
    (merged['sourceDirectory'] !== undefined && merged['sourceDirectory'] !== null);
  for (const { flag, value } of flags) {
    let v = value;
    if (
      flag.kind === 'path' &&
      typeof v === 'string' &&
      !isAbsolute(v) &&
      resolve(configDirectory) !== resolve(cwd)
    ) {
      if (flag.field === 'sourceDirectory' || !hasSourceDirectory) v = resolve(cwd, v);
    }
    setField(merged, nested ? (flag.nestedField ?? flag.field) : flag.field, v);
  }
  return merged;
}

/** `document` (a parsed v1 deploymentconfig, or `{}`) with the deployment flags written in. */
export function withDeploymentFlags(document: unknown, flags: readonly InlineValue[]): unknown {
  if (!isRecord(document)) return document;
  const merged = structuredClone(document);
  // Without a file, v1 asked only the flags; the compute type is what the control plane assumes.
  if (!('computeType' in merged)) merged['computeType'] = 'aks';
  for (const { flag, value } of flags) setField(merged, flag.field, value);
  return merged;
}

/**
 * Re-labels the issues of a configuration the flags were merged into: an issue about a field a
 * flag set (or, without a file, any field a flag stands for) names the flag, e.g.
 * `--cc/--cpu-cores (containerResourceRequirements.cpu): expected a number > 0, got -1`.
 * Returns `error` unchanged when it is not a ConfigError.
 */
export function nameFlagsInIssues(
  error: unknown,
  config: 'inference' | 'deployment',
  given: readonly InlineValue[],
  fromFile: boolean,
): unknown {
  if (!(error instanceof ConfigError)) return error;
  const candidates = fromFile
    ? given.map((g) => g.flag)
    : INLINE_FLAGS.filter((flag) => flag.config === config);
  const owner = (issue: ConfigIssue) =>
    candidates.find((flag) =>
      [flag.field, flag.nestedField].some(
        (field) =>
          field !== undefined && (issue.path === field || issue.path.startsWith(`${field}.`)),
      ),
    );
  const issues = error.issues.map((issue) => {
    const flag = owner(issue);
    return flag
      ? { file: `${flagName(flag)} (${issue.path})`, path: '', message: issue.message }
      : issue;
  });
  return new ConfigError(issues, { cause: error });
}

/** The WebserviceSpec update-mask paths the deployment flags decide. */
export function deploymentMask(flags: readonly InlineValue[]): string[] {
  return [...new Set(flags.flatMap((f) => f.flag.mask ?? []))];
}
