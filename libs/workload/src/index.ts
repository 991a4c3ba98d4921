/**
 * Running replicas of web services: the {@link WorkloadDriver} contract and its runtimes —
 * local child processes (the embedded default) and Kubernetes.
 */
export type {
  LivenessSettings,
  ModelPlacement,
  Replica,
  ReplicaLogLine,
  ReplicaPhase,
  ReplicaResources,
  ServiceKey,
  WorkloadDriver,
  WorkloadSpec,
} from './driver.js';
export * from './images/index.js';
export * from './local/index.js';
export * from './kubernetes/index.js';
