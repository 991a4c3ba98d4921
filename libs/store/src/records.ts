import type { StoredServiceKeys, StoredTeamCredential } from '@skiff/auth';
import type { Revisioned } from './cas.js';

/** A container registry as stored (the password is never kept in plain text). */
export interface RegistryRecord {
  address: string;
  username?: string;
}

/** A workspace (team). */
export interface WorkspaceRecord extends Revisioned {
  name: string;
  description: string;
  defaultNamespace: string;
  containerRegistry?: RegistryRecord;
  createdAt: string;
}

/** A team API credential plus what the API shows about it. */
export interface CredentialRecord {
  credential: StoredTeamCredential;
  /** For agent credentials: the compute target they act for. */
  compute?: string;
  /** Principal of the creator. */
  createdBy: string;
}

/** A compute target. */
export interface ComputeRecord extends Revisioned {
  workspace: string;
  name: string;
  kind: 'local' | 'kubernetes';
  clusterPurpose: 'dev-test' | 'fast-prod' | 'dense-prod';
  namespace: string;
  containerRegistry?: RegistryRecord;
  routerUrl: string;
  region: string;
  apiServer: string;
  createdAt: string;
}

/** One file of a stored model: where its bytes are in the artifact store. */
export interface ModelFileRecord {
  path: string;
  size: number;
  executable: boolean;
  /** sha256 of the file's bytes: its key in the artifact store. */
  blob: string;
}

/** One registered model version. */
export interface ModelRecord {
  workspace: string;
  name: string;
  version: number;
  /** Tree digest (libs/hashing modelDigest). */
  digest: string;
  sizeBytes: number;
  files: ModelFileRecord[];
  description: string;
  tags: Record<string, string>;
  properties: Record<string, string>;
  createdAt: string;
  createdBy: string;
  /** True when identical content was already stored under another version. */
  deduplicated: boolean;
}

/** An uploaded source snapshot. */
export interface SnapshotRecord {
  workspace: string;
  digest: string;
  sizeBytes: number;
  createdAt: string;
}

/** Lifecycle state of a service (the API's WebserviceState). */
export type ServiceState = 'transitioning' | 'healthy' | 'unhealthy' | 'failed' | 'deleting';

/** An autoscaler decision, as `skiff service show` prints it. */
export interface ScaleDecisionRecord {
  /** Replicas decided. */
  replicas: number;
  /** up, down, clamp, … (libs/autoscale ScaleDecisionKind). */
  kind: string;
  reason: string;
  /** ISO time of the decision. */
  time: string;
  sequence: number;
}

/** A webservice's desired and observed state. */
export interface ServiceRecord extends Revisioned {
  workspace: string;
  name: string;
  compute: string;
  /** The normalized spec of the latest generation, in the API's JSON mapping. */
  spec: unknown;
  /** sha256 of the canonical spec; equal specs deploy once. */
  specHash: string;
  generation: number;
  appliedGeneration: number;
  state: ServiceState;
  error?: { code: string; message: string };
  authMode: 'none' | 'key' | 'token';
  keys?: StoredServiceKeys;
  environmentHash: string;
  desiredReplicas: number;
  readyReplicas: number;
  /**
   * Sequence of the last scale decision (0 or absent: none). Every decision takes the next
   * one, so a repeated count (1→3→1→3) is a new scale job.
   */
  scaleSequence?: number;
  /** The autoscaler's last decision that changed the desired count. */
  lastScale?: ScaleDecisionRecord;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}
