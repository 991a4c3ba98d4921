import type { MasterKeyRing, TokenSigningKeyRing } from '@skiff/auth';
import type { ArtifactStore } from '@skiff/artifacts';
import type { Store } from '@skiff/store';
import type { HandlerDeps } from '../rpc/handlers.js';
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
  /** Current time; tests pass a fixed clock. */
  readonly now: () => Date;
}
