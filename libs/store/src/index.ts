/**
 * The control plane's state in Redis (ioredis): workspaces, credentials, compute targets,
 * models, snapshots, services, deployment events, logs, the audit log, token signing keys.
 * Redis outages surface as UnavailableError; the client reconnects by itself.
 */
export { Store } from './store.js';
export {
  connectRedis,
  guarded,
  isRedisUnavailable,
  waitUntilReady,
  type RedisConnectionOptions,
} from './redis.js';
export {
  mutateJson,
  UNCHANGED,
  DELETE,
  type Mutator,
  type MutateOptions,
  type Revisioned,
} from './cas.js';
export { WorkspaceStore, CredentialStore } from './workspaces.js';
export { ComputeStore } from './computes.js';
export { ConnectivityStore, type ConnectivityRecord } from './connectivity.js';
export { ModelStore, SnapshotStore } from './artifacts-meta.js';
export { ArtifactGcStore } from './artifact-gc.js';
export { EnvironmentStore, type EnvironmentRecord } from './environments.js';
export { ServiceStore, type ServiceHistory, type ServiceMutator } from './services.js';
export { QueueEventCursors } from './cursors.js';
export { AgentStore, type AgentRecord, type ReplicaReport } from './agents.js';
export { LeaseStore, processLeaseHolder } from './leases.js';
export { RoutingStore, type ServiceLoadRecord, type ServiceLoadTotal } from './routing.js';
export { DeploymentEventLog, type AppendOptions, type StoredDeploymentEvent } from './events.js';
export { ServiceLogStore, type LogLineRecord } from './logs.js';
export { AuditLog, type AuditRecord } from './audit.js';
export { SigningKeyStore } from './signing-keys.js';
export { ChangeFeed } from './change-feed.js';
export type {
  WorkspaceRecord,
  CredentialRecord,
  ComputeRecord,
  ModelRecord,
  ModelFileRecord,
  SnapshotRecord,
  ServiceRecord,
  ScaleDecisionRecord,
  ServiceState,
  RegistryRecord,
} from './records.js';
