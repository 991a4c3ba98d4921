// Azure ML v1 `inferenceconfig.json` in both of its spellings — the flat one (`entryScript`,
// `condaFile`, `baseImage`, ...) and the one with a nested Azure ML v1 Environment JSON
// (`environment.python`, `environment.docker`, ...) — validated and normalized to one
// InferenceConfig.
import { posix } from 'node:path';
import * as z from 'zod';
import { defaultBaseImage } from './defaults.js';
import type { ConfigResult } from './deployment-config.js';
import {
  array,
  boolean,
  caseInsensitiveEnum,
  describeValue,
  expecting,
  matching,
  object,
  string,
  stringMap,
  toConfigIssues,
} from './fields.js';
import { ConfigError, type ConfigIssue } from './issues.js';

/** Language the entry script is written in. */
export type Runtime = 'python' | 'node';

/** Which of the two v1 spellings a file used. */
export type InferenceConfigShape = 'flat' | 'environment';

/** A private container registry holding the base image. */
export interface ImageRegistry {
  /** Registry host (e.g. `myregistry.azurecr.io`); null when the image name carries it. */
  readonly address: string | null;
  readonly username: string | null;
  readonly password: string | null;
}

/** A custom base Dockerfile: a file next to the inference configuration, or its text. */
export type DockerfileSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'inline'; readonly text: string };

/** An inline conda environment definition (the content of a conda `environment.yml`). */
export interface CondaEnvironment {
  readonly name?: string | null | undefined;
  readonly channels?: readonly string[] | null | undefined;
  readonly dependencies?:
    readonly (string | { readonly pip: readonly string[] })[] | null | undefined;
  readonly prefix?: string | null | undefined;
  readonly variables?: Readonly<Record<string, string>> | null | undefined;
}

/** The image a scoring replica runs in, from either spelling of the inference configuration. */
export interface InferenceEnvironment {
  /** Environment name (nested spelling only). */
  readonly name: string | null;
  /** Environment version (nested spelling only). */
  readonly version: string | null;
  /**
   * Base image; the v1 default ({@link defaultBaseImage}) when none is named. Null only when
   * `baseDockerfile` builds the base instead.
   */
  readonly baseImage: string | null;
  readonly baseImageRegistry: ImageRegistry | null;
  readonly baseDockerfile: DockerfileSource | null;
  /** Path of a file of Dockerfile steps run after the base (flat `extraDockerfileSteps`). */
  readonly extraDockerfileSteps: string | null;
  /** Path of a conda environment file (flat `condaFile` or `python.condaDependenciesFile`). */
  readonly condaFile: string | null;
  /** Inline conda environment (`python.condaDependencies`). */
  readonly condaDependencies: CondaEnvironment | null;
  /** The base image already holds the Python environment; conda definitions are not used. */
  readonly userManagedDependencies: boolean;
  readonly interpreterPath: string | null;
  readonly baseCondaEnvironment: string | null;
  /** Whether the image needs GPU support (flat `enableGpu`, nested `docker.gpuSupport`). */
  readonly enableGpu: boolean;
  readonly cudaVersion: string | null;
  /** Variables set in every replica. */
  readonly environmentVariables: Readonly<Record<string, string>>;
  readonly inferencingStackVersion: string | null;
  /** Extra `docker run` arguments (`docker.arguments`). */
  readonly dockerArguments: readonly string[];
  /** Size of /dev/shm, e.g. `2g` (`docker.shmSize`). */
  readonly shmSize: string | null;
}

/** A validated inference configuration, whichever v1 spelling it came in. */
export interface InferenceConfig {
  /** Which spelling the file used; decides the field names in later messages. */
  readonly shape: InferenceConfigShape;
  /** The entry script, relative to `sourceDirectory` when that is set. */
  readonly entryScript: string;
  /** Directory snapshotted and shipped to replicas; null for none. */
  readonly sourceDirectory: string | null;
  /** `runtime`, else inferred from the entry script's extension (`.js`/`.ts`... → node). */
  readonly runtime: Runtime;
  readonly description: string | null;
  readonly environment: InferenceEnvironment;
}

/** Options of {@link checkInferenceConfig} / {@link parseInferenceConfig}. */
export interface InferenceConfigOptions {
  /** File name used in issues; default `inferenceconfig.json`. */
  readonly file?: string;
}

const path = (what: string) => string(`a path to ${what}`);
const entryScript = path('the entry script, e.g. "score.py"');
const imageName = matching(/^\S+$/, 'an image name like "mcr.microsoft.com/azureml/base:latest"');
const cudaVersion = matching(/^\d+(?:\.\d+){0,2}$/, 'a CUDA version like "11.8"');
const environmentVariableName = /^[A-Za-z_][A-Za-z0-9_]*$/;

const flatRegistry = object({
  address: string('a registry address').nullish(),
  username: string('a user name').nullish(),
  password: string('a password').nullish(),
});

const condaDependency = z.union(
  [z.string().min(1), object({ pip: array(string('a pip requirement')) })],
  expecting('a conda package spec (a string) or {"pip": [...]}'),
);

const condaEnvironment = object({
  name: string('a string', { allowEmpty: true }).nullish(),
  channels: array(string('a channel name')).nullish(),
  dependencies: array(condaDependency).nullish(),
  prefix: string('a path').nullish(),
  variables: stringMap().nullish(),
});

const emptyList = (what: string) =>
  array(z.unknown()).max(0, expecting(`an empty list (skiff does not support ${what})`));

const environmentSchema = object({
  name: string('an environment name').nullish(),
  version: string('a version string').nullish(),
  python: object({
    userManagedDependencies: boolean().nullish(),
    interpreterPath: string('an interpreter path').nullish(),
    condaDependenciesFile: path('a conda environment file').nullish(),
    condaDependencies: condaEnvironment.nullish(),
    baseCondaEnvironment: string('a conda environment name').nullish(),
  }).nullish(),
  environmentVariables: stringMap().nullish(),
  docker: object({
    enabled: boolean().nullish(),
    baseImage: imageName.nullish(),
    baseDockerfile: string('Dockerfile text or a path to a Dockerfile').nullish(),
    baseImageRegistry: object({
      address: string('a registry address').nullish(),
      username: string('a user name').nullish(),
      password: string('a password').nullish(),
      registryIdentity: object({
        resourceId: string('a resource id').nullish(),
        clientId: string('a client id').nullish(),
      }).nullish(),
    }).nullish(),
    arguments: array(string('a docker argument', { allowEmpty: true })).nullish(),
    shmSize: matching(/^\d+[bkmg]?$/i, 'a size like "2g"').nullish(),
    sharedVolumes: boolean().nullish(),
    gpuSupport: boolean().nullish(),
    platform: object({
      os: string('an OS name').nullish(),
      architecture: string('an architecture name').nullish(),
    }).nullish(),
  }).nullish(),
  spark: object({
    repositories: emptyList('Spark').nullish(),
    packages: emptyList('Spark').nullish(),
    precachePackages: boolean().nullish(),
  }).nullish(),
  databricks: object({
    mavenLibraries: emptyList('Databricks').nullish(),
    pypiLibraries: emptyList('Databricks').nullish(),
    rcranLibraries: emptyList('Databricks').nullish(),
    jarLibraries: emptyList('Databricks').nullish(),
    eggLibraries: emptyList('Databricks').nullish(),
  }).nullish(),
  r: z.null(expecting('null (skiff does not support R environments)')).optional(),
  inferencingStackVersion: string('a version like "latest"').nullish(),
});

/** Schema of the flat spelling (`entryScript`, `condaFile`, `baseImage`, ...). */
export const flatInferenceConfigSchema = object({
  entryScript,
  runtime: caseInsensitiveEnum(['python', 'node'] as const).nullish(),
  condaFile: path('a conda environment file').nullish(),
  extraDockerfileSteps: path('a file of Dockerfile steps').nullish(),
  sourceDirectory: path('the source directory').nullish(),
  enableGpu: boolean().nullish(),
  baseImage: imageName.nullish(),
  baseImageRegistry: flatRegistry.nullish(),
  cudaVersion: cudaVersion.nullish(),
  description: string('a string', { allowEmpty: true }).nullish(),
});

/** Schema of the nested spelling (`entryScript`, `sourceDirectory`, `environment`). */
export const environmentInferenceConfigSchema = object({
  entryScript,
  sourceDirectory: path('the source directory').nullish(),
  environment: environmentSchema,
});

// Flat fields written beside `environment`: say where they belong instead of "unknown field".
const NESTED_HINTS: Readonly<Record<string, string>> = {
  condaFile: 'not allowed beside "environment"; use environment.python.condaDependenciesFile',
  baseImage: 'not allowed beside "environment"; use environment.docker.baseImage',
  baseImageRegistry: 'not allowed beside "environment"; use environment.docker.baseImageRegistry',
  enableGpu:
    'not allowed beside "environment"; use environment.docker.gpuSupport and a GPU base image',
  extraDockerfileSteps:
    'not allowed beside "environment"; put the steps in environment.docker.baseDockerfile',
  cudaVersion: 'not allowed beside "environment"; choose a CUDA base image instead',
  runtime: 'not allowed beside "environment" (the nested spelling is always Python)',
  description: 'not allowed beside "environment"',
};

type FlatRaw = z.output<typeof flatInferenceConfigSchema>;
type NestedRaw = z.output<typeof environmentInferenceConfigSchema>;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const field = (v: unknown, ...keys: string[]): unknown => {
  let current = v;
  for (const key of keys) current = isRecord(current) ? current[key] : undefined;
  return current;
};
const isSet = (v: unknown) => v !== undefined && v !== null;

function crossFieldIssues(raw: Record<string, unknown>, file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string) => issues.push({ file, path, message });

  const script = raw['entryScript'];
  if (typeof script === 'string' && script !== '' && isSet(raw['sourceDirectory'])) {
    const normalized = posix.normalize(script.replaceAll('\\', '/'));
    if (
      posix.isAbsolute(normalized) ||
      /^[A-Za-z]:/.test(script) ||
      normalized.startsWith('../') ||
      normalized === '..'
    ) {
      add('entryScript', `expected a path inside sourceDirectory, got ${describeValue(script)}`);
    }
  }
  const nested = 'environment' in raw;
  const registryPath = nested ? 'environment.docker.baseImageRegistry' : 'baseImageRegistry';
  const registry = nested
    ? field(raw, 'environment', 'docker', 'baseImageRegistry')
    : raw['baseImageRegistry'];
  const username = field(registry, 'username');
  const password = field(registry, 'password');
  if (isSet(username) !== isSet(password)) {
    const missing = isSet(username) ? 'password' : 'username';
    add(
      `${registryPath}.${missing}`,
      `missing; expected it together with ${isSet(username) ? 'username' : 'password'}`,
    );
  }
  if (nested) {
    const docker = field(raw, 'environment', 'docker');
    if (isSet(field(docker, 'baseImage')) && isSet(field(docker, 'baseDockerfile'))) {
      add(
        'environment.docker.baseDockerfile',
        'not allowed with environment.docker.baseImage; set one or the other',
      );
    }
    const python = field(raw, 'environment', 'python');
    if (
      isSet(field(python, 'condaDependencies')) &&
      isSet(field(python, 'condaDependenciesFile'))
    ) {
      add(
        'environment.python.condaDependenciesFile',
        'not allowed with environment.python.condaDependencies; set one or the other',
      );
    }
    const variables = field(raw, 'environment', 'environmentVariables');
    if (isRecord(variables)) {
      for (const name of Object.keys(variables)) {
        if (!environmentVariableName.test(name)) {
          add(
            `environment.environmentVariables.${name}`,
            `expected a variable name of letters, digits and '_' not starting with a digit, got ${describeValue(name)}`,
          );
        }
      }
    }
  }
  return issues;
}

const NODE_EXTENSIONS = /\.(?:js|mjs|cjs|ts|mts|cts)$/i;

function runtimeOf(entry: string, runtime: Runtime | null | undefined): Runtime {
  return runtime ?? (NODE_EXTENSIONS.test(entry) ? 'node' : 'python');
}

// v1 accepted either Dockerfile text or a path; text has several lines or starts with an
// instruction, a path does neither.
function dockerfileSource(value: string): DockerfileSource {
  return /\n/.test(value) || /^\s*(?:FROM|ARG|#)/i.test(value)
    ? { kind: 'inline', text: value }
    : { kind: 'file', path: value };
}

function registryOf(
  r:
    | {
        address?: string | null | undefined;
        username?: string | null | undefined;
        password?: string | null | undefined;
      }
    | null
    | undefined,
): ImageRegistry | null {
  if (!r || (!isSet(r.address) && !isSet(r.username) && !isSet(r.password))) return null;
  return { address: r.address ?? null, username: r.username ?? null, password: r.password ?? null };
}

function normalizeFlat(c: FlatRaw): InferenceConfig {
  const enableGpu = c.enableGpu ?? false;
  return {
    shape: 'flat',
    entryScript: c.entryScript,
    sourceDirectory: c.sourceDirectory ?? null,
    runtime: runtimeOf(c.entryScript, c.runtime),
    description: c.description ?? null,
    environment: {
      name: null,
      version: null,
      baseImage: c.baseImage ?? defaultBaseImage(enableGpu),
      baseImageRegistry: registryOf(c.baseImageRegistry),
      baseDockerfile: null,
      extraDockerfileSteps: c.extraDockerfileSteps ?? null,
      condaFile: c.condaFile ?? null,
      condaDependencies: null,
      userManagedDependencies: false,
      interpreterPath: null,
      baseCondaEnvironment: null,
      enableGpu,
      cudaVersion: c.cudaVersion ?? null,
      environmentVariables: {},
      inferencingStackVersion: null,
      dockerArguments: [],
      shmSize: null,
    },
  };
}

function normalizeNested(c: NestedRaw): InferenceConfig {
  const { python, docker } = c.environment;
  const enableGpu = docker?.gpuSupport ?? false;
  const baseDockerfile = docker?.baseDockerfile ? dockerfileSource(docker.baseDockerfile) : null;
  return {
    shape: 'environment',
    entryScript: c.entryScript,
    sourceDirectory: c.sourceDirectory ?? null,
    runtime: 'python',
    description: null,
    environment: {
      name: c.environment.name ?? null,
      version: c.environment.version ?? null,
      baseImage: docker?.baseImage ?? (baseDockerfile ? null : defaultBaseImage(enableGpu)),
      baseImageRegistry: registryOf(docker?.baseImageRegistry),
      baseDockerfile,
      extraDockerfileSteps: null,
      condaFile: python?.condaDependenciesFile ?? null,
      condaDependencies: python?.condaDependencies ?? null,
      userManagedDependencies: python?.userManagedDependencies ?? false,
      interpreterPath: python?.interpreterPath ?? null,
      baseCondaEnvironment: python?.baseCondaEnvironment ?? null,
      enableGpu,
      cudaVersion: null,
      environmentVariables: { ...c.environment.environmentVariables },
      inferencingStackVersion: c.environment.inferencingStackVersion ?? null,
      dockerArguments: [...(docker?.arguments ?? [])],
      shmSize: docker?.shmSize ?? null,
    },
  };
}

/**
 * Validates an Azure ML v1 `inferenceconfig.json` (already parsed from JSON) in either
 * spelling — the presence of an `environment` field selects the nested one — and normalizes
 * it to one {@link InferenceConfig} with the default base image filled in. Returns every
 * problem at once instead of throwing.
 */
export function checkInferenceConfig(
  input: unknown,
  options: InferenceConfigOptions = {},
): ConfigResult<InferenceConfig> {
  const file = options.file ?? 'inferenceconfig.json';
  if (!isRecord(input)) {
    return {
      ok: false,
      issues: [{ file, path: '', message: `expected a JSON object, got ${describeValue(input)}` }],
    };
  }
  const nested = 'environment' in input;
  const schema: z.ZodType = nested ? environmentInferenceConfigSchema : flatInferenceConfigSchema;
  const parsed = schema.safeParse(input, { reportInput: true });
  const issues = [
    ...(parsed.success
      ? []
      : toConfigIssues(file, schema, parsed.error.issues, nested ? NESTED_HINTS : {})),
    ...crossFieldIssues(input, file),
  ];
  if (issues.length > 0 || !parsed.success) return { ok: false, issues };
  const config = nested
    ? normalizeNested(parsed.data as NestedRaw)
    : normalizeFlat(parsed.data as FlatRaw);
  return { ok: true, config };
}

/**
 * Like {@link checkInferenceConfig}, but throws a {@link ConfigError} listing every problem.
 */
export function parseInferenceConfig(
  input: unknown,
  options: InferenceConfigOptions = {},
): InferenceConfig {
  const result = checkInferenceConfig(input, options);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.config;
}
