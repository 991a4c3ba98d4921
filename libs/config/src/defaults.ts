/**
 * Base image used when an inference configuration names none and GPU is off: Azure ML v1's
 * default CPU inference image (OpenMPI on Ubuntu 22.04).
 */
export const DEFAULT_CPU_BASE_IMAGE = 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04';

/**
 * Base image used when an inference configuration names none and `enableGpu` is true: Azure ML
 * v1's CUDA counterpart of {@link DEFAULT_CPU_BASE_IMAGE}.
 */
export const DEFAULT_GPU_BASE_IMAGE =
  'mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04';

/** The default base image for an environment with or without GPU. */
export function defaultBaseImage(enableGpu: boolean): string {
  return enableGpu ? DEFAULT_GPU_BASE_IMAGE : DEFAULT_CPU_BASE_IMAGE;
}

/**
 * Defaults of an Azure ML v1 AKS `deploymentconfig.json` (SPEC.md §1), applied to every field the
 * file leaves out. `numReplicas`, limits, keys and namespace have no default here: unset means
 * "autoscale", "no limit", "generate" and "the workspace's" respectively, decided by the caller.
 */
export const DEPLOYMENT_DEFAULTS = {
  autoScaler: {
    minReplicas: 1,
    maxReplicas: 10,
    refreshPeriodInSeconds: 1,
    targetUtilization: 70,
  },
  /** Replicas when autoscale is explicitly off and `numReplicas` is unset. */
  numReplicasWithoutAutoscale: 1,
  containerResourceRequirements: {
    cpu: 0.1,
    memoryInGB: 0.5,
    /** GPUs per replica when the inference configuration enables GPU. */
    gpuWhenEnabled: 1,
    fpga: 0,
  },
  authEnabled: true,
  tokenAuthEnabled: false,
  scoringTimeoutMs: 60_000,
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
} as const;
