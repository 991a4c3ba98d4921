import { dirname, join } from 'node:path';
import {
  configFileAt,
  parseDeploymentConfig,
  readConfigDocument,
  readInferenceConfigFile,
  type ConfigFileLocation,
  type DeploymentConfig as V1DeploymentConfig,
  type InferenceConfig as V1InferenceConfig,
  type InferenceEnvironment,
} from '@skiff/config';
import type { EnvironmentDefinition } from '@skiff/hashing';
import {
  ComputeType,
  type DeploymentConfig,
  type Duration,
  type Environment,
  type InferenceConfig,
} from '@skiff/proto';
import type { CliIo } from '../io.js';
import {
  nameFlagsInIssues,
  withDeploymentFlags,
  withInferenceFlags,
  type InlineValue,
} from './inline-flags.js';

/** An inference configuration read from disk, in the API's shape, and what to snapshot. */
export interface LoadedInferenceConfig {
  readonly config: InferenceConfig;
  readonly enableGpu: boolean;
  /**
   * The directory to snapshot: the configuration's `sourceDirectory` (relative to the file),
   * or, without one, undefined: then the snapshot holds the entry script alone.
   */
  readonly sourceDirectory: string | undefined;
  /** Absolute path of the entry script (inside the source directory when there is one). */
  readonly entryScript: string;
  /** The file as named on the command line, for messages. */
  readonly label: string;
}

const duration = (millis: number): Duration => ({
  seconds: Math.floor(millis / 1_000),
  nanos: Math.round((millis % 1_000) * 1e6),
});

/** What issues about a configuration given by inline flags alone are labelled with. */
export const INLINE_FLAGS_LABEL = 'inline flags';

// Flags without a file: a configuration "in" the working directory, so relative paths in it
// mean what they mean on the command line.
const inlineOnly = (io: CliIo): ConfigFileLocation => ({
  label: INLINE_FLAGS_LABEL,
  path: join(io.cwd, INLINE_FLAGS_LABEL),
});

/**
 * Reads an Azure ML v1 inference configuration (JSON or YAML, either shape) and the files it
 * names (conda file, Dockerfile steps, base Dockerfile) through @skiff/config's one reader —
 * `entryScript`, `condaFile` and `extraDockerfileSteps` relative to `sourceDirectory`, as in
 * v1: the control plane never reads the caller's disk, so their contents travel in the request.
 * The inline flags (`--es`, `--sd`, ...) override the file's fields, or make the whole
 * configuration when `argument` is undefined.
 *
 * @throws ConfigError naming every problem of the file or its references (the flag, for a
 *   field a flag set).
 */
export async function loadInferenceConfig(
  io: CliIo,
  argument: string | undefined,
  flags: readonly InlineValue[] = [],
): Promise<LoadedInferenceConfig> {
  const file = argument === undefined ? inlineOnly(io) : configFileAt(io.cwd, argument);
  let loaded;
  try {
    const document = argument === undefined ? {} : await readConfigDocument(file);
    loaded = await readInferenceConfigFile(file, {
      document: withInferenceFlags(document, flags, io.cwd, dirname(file.path)),
    });
  } catch (error) {
    throw nameFlagsInIssues(error, 'inference', flags, argument !== undefined);
  }
  return {
    config: toApiInference(loaded.config, loaded.environment),
    enableGpu: loaded.config.environment.enableGpu,
    sourceDirectory: loaded.paths.sourceDirectory ?? undefined,
    entryScript: loaded.paths.entryScript.resolved,
    label: loaded.file.label,
  };
}

function toApiInference(v1: V1InferenceConfig, definition: EnvironmentDefinition): InferenceConfig {
  return {
    entryScript: v1.entryScript,
    runtime: v1.runtime,
    sourceDirectory: v1.sourceDirectory ?? '',
    description: v1.description ?? '',
    environment: toApiEnvironment(v1.environment, definition),
  };
}

/**
 * A checked v1 environment and the files it names, read in (conda file, Dockerfile steps, base
 * Dockerfile), as the API's Environment: what an inference configuration carries and what
 * `skiff environment register` stores.
 */
export function toApiEnvironment(
  env: InferenceEnvironment,
  definition: EnvironmentDefinition,
): Environment {
  const registry = env.baseImageRegistry;
  return {
    name: env.name ?? '',
    version: env.version ?? '',
    docker: {
      baseImage: env.baseImage ?? '',
      baseDockerfile: definition.baseDockerfile ?? '',
      ...(registry?.address
        ? {
            baseImageRegistry: {
              address: registry.address,
              username: registry.username ?? '',
              password: registry.password ?? '',
            },
          }
        : {}),
      enabled: true,
      arguments: [...env.dockerArguments],
      shmSize: env.shmSize ?? '',
    },
    python: {
      condaDependencies: definition.condaDependencies ?? '',
      userManagedDependencies: env.userManagedDependencies,
      interpreterPath: env.interpreterPath ?? '',
      baseCondaEnvironment: env.baseCondaEnvironment ?? '',
    },
    environmentVariables: { ...env.environmentVariables },
    extraDockerfileSteps: definition.extraDockerfileSteps ?? '',
    pipRequirements: '',
    enableGpu: env.enableGpu,
    cudaVersion: env.cudaVersion ?? '',
    inferencingStackVersion: env.inferencingStackVersion ?? '',
  };
}

/** A deployment configuration read from disk, in the API's shape. */
export interface LoadedDeploymentConfig {
  readonly config: DeploymentConfig;
  /** v1's `computeTargetName`: where to deploy when `--ct` is absent; null when unset. */
  readonly computeTargetName: string | null;
  /** The file as named on the command line, for messages. */
  readonly label: string;
}

/**
 * Reads an Azure ML v1 deployment configuration (JSON or YAML) and returns it in the API's
 * shape with every default filled (the control plane applies the same rules again). The inline
 * flags (`--cc`, `--ma`, ...) override the file's fields, or make the whole configuration
 * (computeType "aks" unless `--cp`) when `argument` is undefined.
 *
 * @throws ConfigError naming every problem (the flag, for a field a flag set).
 */
export async function loadDeploymentConfig(
  io: CliIo,
  argument: string | undefined,
  enableGpu: boolean,
  flags: readonly InlineValue[] = [],
): Promise<LoadedDeploymentConfig> {
  const file = argument === undefined ? inlineOnly(io) : configFileAt(io.cwd, argument);
  let v1: V1DeploymentConfig;
  try {
    const document = argument === undefined ? {} : await readConfigDocument(file);
    v1 = parseDeploymentConfig(withDeploymentFlags(document, flags), {
      file: file.label,
      enableGpu,
    });
  } catch (error) {
    throw nameFlagsInIssues(error, 'deployment', flags, argument !== undefined);
  }
  return {
    config: toApiDeployment(v1),
    computeTargetName: v1.computeTargetName,
    label: file.label,
  };
}

function toApiDeployment(v1: V1DeploymentConfig): DeploymentConfig {
  const scaler = v1.autoScaler;
  const resources = v1.containerResourceRequirements;
  const probe = v1.livenessProbeRequirements;
  return {
    computeType:
      v1.computeType === 'local' ? ComputeType.COMPUTE_TYPE_LOCAL : ComputeType.COMPUTE_TYPE_AKS,
    autoScaler: {
      autoscaleEnabled: scaler.autoscaleEnabled,
      minReplicas: scaler.minReplicas,
      maxReplicas: scaler.maxReplicas,
      refreshPeriod: duration(scaler.refreshPeriodInSeconds * 1_000),
      targetUtilization: scaler.targetUtilization,
    },
    ...(v1.numReplicas === null ? {} : { numReplicas: v1.numReplicas }),
    containerResourceRequirements: {
      cpu: resources.cpu,
      memoryInGb: resources.memoryInGB,
      ...(resources.cpuLimit === null ? {} : { cpuLimit: resources.cpuLimit }),
      ...(resources.memoryInGBLimit === null ? {} : { memoryInGbLimit: resources.memoryInGBLimit }),
      gpu: resources.gpu,
      fpga: resources.fpga,
    },
    authEnabled: v1.authEnabled,
    tokenAuthEnabled: v1.tokenAuthEnabled,
    keys: { primaryKey: v1.keys.primaryKey ?? '', secondaryKey: v1.keys.secondaryKey ?? '' },
    scoringTimeout: duration(v1.scoringTimeoutMs),
    maxConcurrentRequestsPerContainer: v1.maxConcurrentRequestsPerContainer,
    maxQueueWait: duration(v1.maxQueueWaitMs),
    livenessProbeRequirements: {
      period: duration(probe.periodSeconds * 1_000),
      initialDelay: duration(probe.initialDelaySeconds * 1_000),
      timeout: duration(probe.timeoutSeconds * 1_000),
      successThreshold: probe.successThreshold,
      failureThreshold: probe.failureThreshold,
    },
    dataCollection: { storageEnabled: v1.dataCollection.storageEnabled },
    appInsightsEnabled: v1.appInsightsEnabled,
    namespace: v1.namespace ?? '',
    description: v1.description ?? '',
    tags: { ...v1.tags },
    properties: { ...v1.properties },
  };
}
