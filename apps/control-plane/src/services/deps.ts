import type { MasterKeyRing, TokenSigningKeyRing } from '@skiff/auth';
import type { ArtifactStore } from '@skiff/artifacts';
import type { Store } from '@skiff/store';
import type { HandlerDeps } from '../rpc/handlers.js';
import type { AgentRedisAccess } from '../agents/redis-access.js';
import type { ComputeQueues } from '../deployments/compute-queues.js';

/** Everything the RPC implementations use, wired once in main.ts. */
export interface ServiceDeps extends HandlerDeps {
  readonly store: Store;
  readonly artifacts: ArtifactStore;
  readonly queues: ComputeQueues;
  readonly masterKeys: MasterKeyRing;
  readonly tokenKeys: () => TokenSigningKeyRing;
  readonly tokenIssuer: string;
  readonly maxUploadBytes: number;
  /** How often agents report their replicas (a snapshot lives three intervals). */
  readonly agentReportIntervalMs: number;
  /** Creates per-compute Redis ACL users for agents; absent when the operator manages them. */
  readonly agentRedis: AgentRedisAccess | undefined;
  /** Current time; tests pass a fixed clock. */
  readonly now: () => Date;
}
