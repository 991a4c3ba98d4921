/**
 * The Kubernetes runtime (see README.md in this folder): the driver, its manifests, the replica
 * watch, leader election on a Lease, and the in-cluster image builder.
 */
export {
  KubernetesDriver,
  type KubernetesDriverLogger,
  type KubernetesDriverOptions,
} from './driver.js';
export {
  ANNOTATIONS,
  DEFAULT_ARTIFACT_CACHE_HOST_PATH,
  DEFAULT_FPGA_RESOURCE,
  DEFAULT_WAIT_IMAGE,
  FIELD_MANAGER,
  GPU_RESOURCE,
  LABELS,
  MANAGED_BY,
  REPLICA_PATHS,
  SCORING_CONTAINER,
  SCORING_PORT_NAME,
  containerEnv,
  cpuQuantity,
  deploymentManifest,
  labelSelector,
  memoryQuantity,
  modelCachePath,
  probes,
  resourceRequirements,
  selectorLabels,
  serviceManifest,
  snapshotCachePath,
  workloadName,
  type ManifestOptions,
} from './manifests.js';
export { replicaAddress, replicaOf } from './replicas.js';
export { PodWatch, type PodWatchOptions } from './pod-watch.js';
export { LeaderElection, type LeaderElectionOptions } from './lease.js';
export { KubernetesImageBuilder, type KubernetesImageBuilderOptions } from './image-builder.js';
