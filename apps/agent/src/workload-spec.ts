import type { Duration, GetDeploymentResponse } from '@skiff/proto';
import type { LivenessSettings, ModelPlacement, WorkloadSpec } from '@skiff/workload';

const seconds = (duration: Duration | undefined, fallback: number) =>
  duration ? duration.seconds + duration.nanos / 1e9 : fallback;

/** Where this node keeps a deployment's files (local runtime). */
export interface LocalPaths {
  sourceDir: string;
  /** Model directories, in the order of `deployment.models`. */
  modelDirs: readonly string[];
}

/** The liveness settings of a deployment (SPEC.md §1 defaults when absent). */
export function livenessOf(deployment: GetDeploymentResponse): LivenessSettings {
  const probe = deployment.spec?.deploymentConfig?.livenessProbeRequirements;
  return {
    periodSeconds: seconds(probe?.period, 10),
    initialDelaySeconds: seconds(probe?.initialDelay, 310),
    timeoutSeconds: seconds(probe?.timeout, 2),
    successThreshold: probe?.successThreshold ?? 1,
    failureThreshold: probe?.failureThreshold ?? 3,
  };
}

/**
 * How long a deploy may wait for its replicas: as long as the liveness probe would let a
 * replica take before giving up on it (initial delay + failures × period + timeout), plus a
 * margin for downloads and start-up.
 */
export function readinessDeadlineMs(liveness: LivenessSettings): number {
  const probeSeconds =
    liveness.initialDelaySeconds +
    liveness.failureThreshold * liveness.periodSeconds +
    liveness.timeoutSeconds;
  return Math.ceil((probeSeconds + 30) * 1000);
}

/**
 * The WorkloadSpec of a deployment at a replica count; `image` is the environment image
 * (Kubernetes), '' for the local runtime.
 */
export function workloadSpecOf(
  deployment: GetDeploymentResponse,
  workspace: string,
  service: string,
  replicas: number,
  paths: LocalPaths,
  image = '',
): WorkloadSpec {
  const spec = deployment.spec;
  const config = spec?.deploymentConfig;
  const inference = spec?.inferenceConfig;
  const resources = config?.containerResourceRequirements;
  const models: ModelPlacement[] = deployment.models.map((model, index) => ({
    name: model.name,
    version: model.version,
    digest: model.digest,
    ...(paths.modelDirs[index] === undefined ? {} : { path: paths.modelDirs[index] }),
  }));
  return {
    workspace,
    service,
    generation: deployment.generation,
    replicas,
    namespace: config?.namespace || workspace,
    environmentHash: deployment.environmentHash,
    image,
    entryScript: inference?.entryScript ?? 'score.py',
    runtime:
      inference?.runtime === 'node' || inference?.runtime === 'javascript'
        ? 'javascript'
        : 'python',
    sourceDir: paths.sourceDir,
    snapshotDigest: spec?.snapshotDigest ?? '',
    models,
    environmentVariables: inference?.environment?.environmentVariables ?? {},
    resources: {
      cpu: resources?.cpu ?? 0.1,
      memoryInGB: resources?.memoryInGb ?? 0.5,
      ...(resources?.cpuLimit === undefined ? {} : { cpuLimit: resources.cpuLimit }),
      ...(resources?.memoryInGbLimit === undefined
        ? {}
        : { memoryInGBLimit: resources.memoryInGbLimit }),
      gpu: resources?.gpu ?? 0,
      fpga: resources?.fpga ?? 0,
    },
    liveness: livenessOf(deployment),
    maxConcurrentRequests: config?.maxConcurrentRequestsPerContainer ?? 1,
    scoringTimeoutMs: Math.round(seconds(config?.scoringTimeout, 60) * 1000),
    dataCollection: config?.dataCollection?.storageEnabled ?? false,
  };
}
