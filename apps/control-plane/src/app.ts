import { createArtifactStore, type ArtifactStore } from '@skiff/artifacts';
import type { TokenSigningKeyRing } from '@skiff/auth';
import { Store } from '@skiff/store';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { ArtifactCollector } from './artifacts-gc/collector.js';
import { ArtifactGcLoop } from './artifacts-gc/loop.js';
import { AutoscalerLoop } from './autoscaling/loop.js';
import { ensureAdminCredential, loadMasterKeys, loadTokenKeys } from './bootstrap.js';
import type { ControlPlaneEnv } from './config.js';
import { AgentRedisAccess } from './agents/redis-access.js';
import { ComputeQueues } from './deployments/compute-queues.js';
import { DeploymentReconciler } from './deployments/reconciler.js';
import { DeploymentTracker } from './deployments/tracker.js';
import { RpcMetrics } from './rpc/metrics.js';
import { startServer, type ControlPlaneServer } from './server.js';

/** A running control plane. */
export interface ControlPlane {
  readonly server: ControlPlaneServer;
  readonly store: Store;
  /** The artifact collector's loop (`runOnce()` collects now, if this process holds the lease). */
  readonly artifactGc: ArtifactGcLoop;
  /** Graceful stop: drain RPCs (up to the grace period), close queues, then Redis. */
  stop(): Promise<void>;
}

/** Test and embedding hooks; production passes none. */
export interface ControlPlaneOverrides {
  log?: Logger;
  /** Where the generated admin credential is printed (default stderr). */
  print?: (text: string) => void;
  now?: () => Date;
  artifacts?: ArtifactStore;
}

/** Partial uploads idle for less than this are never removed, whatever the grace period. */
const MIN_PARTIAL_UPLOAD_IDLE_MS = 15 * 60_000;

/** Wires and starts the control plane from its parsed configuration. */
export async function startControlPlane(
  env: ControlPlaneEnv,
  overrides: ControlPlaneOverrides = {},
): Promise<ControlPlane> {
  const log = overrides.log ?? pino({ level: env.SKIFF_LOG_LEVEL, base: { app: 'control-plane' } });
  const now = overrides.now ?? (() => new Date());
  const store = await Store.connect({ url: env.REDIS_URL, keyPrefix: env.SKIFF_REDIS_PREFIX });
  const masterKeys = await loadMasterKeys(env.SKIFF_MASTER_KEYS, env.SKIFF_DATA_DIR, log);
  await ensureAdminCredential(
    store,
    env.SKIFF_ADMIN_TOKEN,
    now(),
    overrides.print ?? ((text) => process.stderr.write(text)),
  );
  let tokenKeys: TokenSigningKeyRing = await loadTokenKeys(
    store,
    masterKeys,
    env.SKIFF_TOKEN_LIFETIME_SECONDS,
  );
  const artifacts = overrides.artifacts ?? (await createArtifactStore(artifactConfig(env)));

  const tracker = new DeploymentTracker(store, log.child({ component: 'tracker' }));
  // BullMQ keys share the state store's prefix, without its trailing ':' (BullMQ adds it).
  const queuePrefix = `${env.SKIFF_REDIS_PREFIX.replace(/:$/, '')}:bull`;
  const queues = new ComputeQueues(
    {
      redisUrl: env.REDIS_URL,
      prefix: queuePrefix,
      cursors: store.cursors,
      log,
    },
    tracker.onJobEvent,
  );
  // Watches every compute target and settles what happened while no control plane listened.
  const reconciler = new DeploymentReconciler(
    store,
    queues,
    tracker,
    log.child({ component: 'reconciler' }),
    env.SKIFF_RECONCILE_SECONDS * 1_000,
  );
  reconciler.start();

  const registry = new Registry();
  // Scales autoscaled services from agent and router reports (one control plane at a time).
  const autoscaler = new AutoscalerLoop({
    store,
    queues,
    log: log.child({ component: 'autoscaler' }),
    registry,
    agentReportTtlMs: env.SKIFF_AGENT_REPORT_INTERVAL_MS * 3,
  });
  autoscaler.start();
  // Deletes blobs nothing references any more, and partial uploads (one control plane at a time).
  const graceMs = env.SKIFF_ARTIFACT_GC_GRACE_SECONDS * 1_000;
  const artifactGc = new ArtifactGcLoop({
    collector: new ArtifactCollector({
      store,
      artifacts,
      graceMs,
      snapshotRetentionMs: env.SKIFF_ARTIFACT_GC_SNAPSHOT_RETENTION_SECONDS * 1_000,
      // A client pausing mid-upload is not a failed upload, however short the grace.
      partialUploadIdleMs: Math.max(graceMs, MIN_PARTIAL_UPLOAD_IDLE_MS),
    }),
    store,
    log: log.child({ component: 'artifact-gc' }),
    intervalMs: env.SKIFF_ARTIFACT_GC_INTERVAL_SECONDS * 1_000,
    registry,
  });
  artifactGc.start();
  const server = await startServer(
    {
      log,
      metrics: new RpcMetrics(registry),
      audit: store.audit,
      store,
      artifacts,
      queues,
      masterKeys,
      tokenKeys: () => tokenKeys,
      tokenIssuer: env.SKIFF_TOKEN_ISSUER,
      maxUploadBytes: env.SKIFF_MAX_UPLOAD_BYTES,
      agentReportIntervalMs: env.SKIFF_AGENT_REPORT_INTERVAL_MS,
      agentRedis:
        env.SKIFF_AGENT_REDIS_ACL === 'on'
          ? new AgentRedisAccess(store.redis, env.SKIFF_REDIS_PREFIX, queuePrefix)
          : undefined,
      now,
    },
    { grpcListen: env.SKIFF_GRPC_LISTEN, httpListen: env.SKIFF_HTTP_LISTEN, registry },
  );
  // Tokens signed by another process after a rotation must verify here too.
  const refresh = setInterval(() => {
    loadTokenKeys(store, masterKeys, env.SKIFF_TOKEN_LIFETIME_SECONDS).then(
      (ring) => (tokenKeys = ring),
      (error: unknown) => log.warn({ err: error }, 'could not reload token signing keys'),
    );
  }, 60_000);
  refresh.unref();
  log.info({ grpc: server.grpcAddress, http: server.httpAddress }, 'control plane listening');

  return {
    server,
    store,
    artifactGc,
    stop: async () => {
      clearInterval(refresh);
      await server.close(env.SKIFF_SHUTDOWN_GRACE_SECONDS * 1_000);
      tracker.stop();
      await autoscaler.stop();
      await artifactGc.stop();
      await reconciler.stop();
      await queues.close();
      await artifacts.close();
      await store.close();
      log.info('control plane stopped');
    },
  };
}

function artifactConfig(env: ControlPlaneEnv): Parameters<typeof createArtifactStore>[0] {
  if (env.SKIFF_ARTIFACTS === 'filesystem') {
    return {
      kind: 'filesystem',
      root: env.SKIFF_ARTIFACTS_DIR ?? join(env.SKIFF_DATA_DIR, 'artifacts'),
    };
  }
  if (env.SKIFF_AZURE_BLOB_CONNECTION_STRING) {
    return {
      kind: 'azure-blob',
      container: env.SKIFF_AZURE_BLOB_CONTAINER,
      connectionString: env.SKIFF_AZURE_BLOB_CONNECTION_STRING,
    };
  }
  if (env.SKIFF_AZURE_BLOB_ACCOUNT_URL) {
    // Entra ID credentials are created only here, when Azure Blob is explicitly configured.
    return {
      kind: 'azure-blob',
      container: env.SKIFF_AZURE_BLOB_CONTAINER,
      accountUrl: env.SKIFF_AZURE_BLOB_ACCOUNT_URL,
      auth: 'entra-id',
    };
  }
  throw new Error(
    'SKIFF_ARTIFACTS=azure-blob needs SKIFF_AZURE_BLOB_CONNECTION_STRING or SKIFF_AZURE_BLOB_ACCOUNT_URL',
  );
}
