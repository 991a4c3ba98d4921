import type { Redis } from 'ioredis';
import { ArtifactGcStore } from './artifact-gc.js';
import { ModelStore, SnapshotStore } from './artifacts-meta.js';
import { AgentStore } from './agents.js';
import { RoutingStore } from './routing.js';
import { LeaseStore } from './leases.js';
import { AuditLog } from './audit.js';
import { ChangeFeed } from './change-feed.js';
import { ComputeStore } from './computes.js';
import { ConnectivityStore } from './connectivity.js';
import { QueueEventCursors } from './cursors.js';
import { EnvironmentStore } from './environments.js';
import { DeploymentEventLog } from './events.js';
import { ServiceLogStore } from './logs.js';
import { connectRedis, guarded, waitUntilReady, type RedisConnectionOptions } from './redis.js';
import { ServiceStore } from './services.js';
import { SigningKeyStore } from './signing-keys.js';
import { CredentialStore, WorkspaceStore } from './workspaces.js';

/** The control plane's state in Redis, one object per aggregate. */
export class Store {
  readonly workspaces: WorkspaceStore;
  readonly credentials: CredentialStore;
  readonly computes: ComputeStore;
  readonly connectivity: ConnectivityStore;
  readonly models: ModelStore;
  readonly snapshots: SnapshotStore;
  /** Pins of uploads in progress and workspace discovery, for the artifact collector. */
  readonly artifactGc: ArtifactGcStore;
  readonly environments: EnvironmentStore;
  readonly services: ServiceStore;
  readonly events: DeploymentEventLog;
  readonly logs: ServiceLogStore;
  readonly audit: AuditLog;
  readonly signingKeys: SigningKeyStore;
  readonly feed: ChangeFeed;
  readonly cursors: QueueEventCursors;
  readonly agents: AgentStore;
  readonly routing: RoutingStore;
  readonly leases: LeaseStore;

  protected constructor(
    readonly redis: Redis,
    keyPrefix: string,
  ) {
    this.workspaces = new WorkspaceStore(redis);
    this.credentials = new CredentialStore(redis);
    this.computes = new ComputeStore(redis);
    this.connectivity = new ConnectivityStore(redis);
    this.models = new ModelStore(redis);
    this.snapshots = new SnapshotStore(redis);
    this.artifactGc = new ArtifactGcStore(redis, keyPrefix);
    this.environments = new EnvironmentStore(redis);
    this.services = new ServiceStore(redis);
    this.events = new DeploymentEventLog(redis);
    this.logs = new ServiceLogStore(redis);
    this.audit = new AuditLog(redis);
    this.signingKeys = new SigningKeyStore(redis);
    this.feed = new ChangeFeed(redis, keyPrefix);
    this.cursors = new QueueEventCursors(redis);
    this.agents = new AgentStore(redis);
    this.routing = new RoutingStore(redis);
    this.leases = new LeaseStore(redis);
  }

  /**
   * Connects to Redis, waiting up to `readyTimeoutMs` (default 5000) for the connection. When
   * Redis is not there yet the store is returned anyway: calls fail with UnavailableError until
   * Redis answers, and work again once it does (no restart needed).
   */
  static async connect(
    options: RedisConnectionOptions & { readyTimeoutMs?: number },
  ): Promise<Store> {
    const keyPrefix = options.keyPrefix ?? 'skiff:';
    const redis = connectRedis({ ...options, keyPrefix });
    await waitUntilReady(redis, options.readyTimeoutMs ?? 5_000);
    return new Store(redis, keyPrefix);
  }

  /**
   * True for the first caller to claim `token` within `ttlSeconds`, false for every other:
   * lets several control-plane processes handle each queue event once.
   */
  async claimOnce(token: string, ttlSeconds: number): Promise<boolean> {
    return guarded(
      async () => (await this.redis.set(`claim:${token}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK',
    );
  }

  /** Resolves when Redis answers PING. @throws UnavailableError */
  async ping(): Promise<void> {
    await guarded(() => this.redis.ping());
  }

  async close(): Promise<void> {
    await this.feed.close();
    this.redis.disconnect();
  }
}
