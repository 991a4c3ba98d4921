import { z } from 'zod';

const listen = (what: string) =>
  z
    .string()
    .regex(
      /^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+):\d{1,5}$/,
      `${what}: expected host:port, e.g. 127.0.0.1:50051`,
    );

/**
 * The control plane's environment, parsed once at start. Every variable has a default that
 * runs the embedded mode on this machine (loopback only, state in ./.skiff and local Redis).
 */
export const controlPlaneEnv = z.object({
  /** gRPC API address. */
  SKIFF_GRPC_LISTEN: listen('SKIFF_GRPC_LISTEN').default('127.0.0.1:50051'),
  /** HTTP address for /metrics, /healthz and /readyz. */
  SKIFF_HTTP_LISTEN: listen('SKIFF_HTTP_LISTEN').default('127.0.0.1:9464'),
  /** The state store. Production runs Redis with AOF on (docs/control-plane.md). */
  REDIS_URL: z
    .string()
    .url('REDIS_URL: expected a URL like redis://127.0.0.1:6379')
    .default('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key (several installations may share one Redis). */
  SKIFF_REDIS_PREFIX: z.string().min(1).default('skiff:'),
  /** Where the master key file and the filesystem artifact store live by default. */
  SKIFF_DATA_DIR: z.string().min(1).default('.skiff'),
  /**
   * Master keys sealing service keys and token-signing keys at rest, as
   * `<id>:<base64 32 bytes>[,<id>:<base64>...]` (the first one seals new secrets). When unset,
   * a key is generated once into `<SKIFF_DATA_DIR>/master-key` (mode 0600).
   */
  SKIFF_MASTER_KEYS: z.string().min(1).optional(),
  /**
   * The platform admin's credential (`skf_<id>_<secret>`), acting in every workspace. When
   * unset, one is generated on first start and printed once.
   */
  SKIFF_ADMIN_TOKEN: z
    .string()
    .regex(
      /^skf_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/,
      'SKIFF_ADMIN_TOKEN: expected skf_<24 hex>_<43 base64url>',
    )
    .optional(),
  /** Artifact store: filesystem (default, under SKIFF_DATA_DIR/artifacts) or azure-blob. */
  SKIFF_ARTIFACTS: z.enum(['filesystem', 'azure-blob']).default('filesystem'),
  SKIFF_ARTIFACTS_DIR: z.string().min(1).optional(),
  SKIFF_AZURE_BLOB_CONTAINER: z.string().min(3).default('skiff-artifacts'),
  /** Azure Blob by connection string (also Azurite). */
  SKIFF_AZURE_BLOB_CONNECTION_STRING: z.string().min(1).optional(),
  /** Azure Blob by account URL with Entra ID (@azure/identity DefaultAzureCredential). */
  SKIFF_AZURE_BLOB_ACCOUNT_URL: z.string().url().optional(),
  /** `iss` of service tokens. */
  SKIFF_TOKEN_ISSUER: z.string().min(1).default('skiff-control-plane'),
  SKIFF_TOKEN_LIFETIME_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3_600),
  /** Largest model (all files) or snapshot accepted, in bytes. */
  SKIFF_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(8 * 1024 ** 3),
  /**
   * How often the reconciler re-reads the queue state of every Transitioning or Deleting
   * service and watches newly attached compute targets (job events make it faster; this makes
   * it certain).
   */
  SKIFF_RECONCILE_SECONDS: z.coerce.number().min(0.1).max(3_600).default(5),
  /** How often agents report their replicas; a report is trusted for three intervals. */
  SKIFF_AGENT_REPORT_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  /**
   * `on`: RegisterAgent creates a Redis ACL user per compute target that can touch only that
   * target's queue (the control plane's Redis user needs `+acl`). `off`: the operator gives
   * agents their Redis credentials (docs/agent.md).
   */
  SKIFF_AGENT_REDIS_ACL: z.enum(['on', 'off']).default('on'),
  /**
   * How often the artifact collector runs (one control plane at a time); 0 turns it off.
   * See docs/control-plane.md, "Garbage collection".
   */
  SKIFF_ARTIFACT_GC_INTERVAL_SECONDS: z.coerce.number().min(0).max(86_400).default(600),
  /**
   * An unreferenced blob is deleted only once it was last written longer ago than this; also
   * how long a partial upload may stay idle. Keep it above the longest pause of an upload.
   */
  SKIFF_ARTIFACT_GC_GRACE_SECONDS: z.coerce.number().min(0).default(3_600),
  /** A snapshot no service references is removed once unused for this long. */
  SKIFF_ARTIFACT_GC_SNAPSHOT_RETENTION_SECONDS: z.coerce.number().min(0).default(86_400),
  /** Seconds to let in-flight RPCs finish on SIGTERM before cancelling them. */
  SKIFF_SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).default(10),
  SKIFF_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info'),
});

export type ControlPlaneEnv = z.infer<typeof controlPlaneEnv>;

/**
 * Parses the environment; the error lists every bad variable with what was expected.
 */
export function parseControlPlaneEnv(env: NodeJS.ProcessEnv): ControlPlaneEnv {
  const result = controlPlaneEnv.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '');
    return issue.message.startsWith(variable) ? issue.message : `${variable}: ${issue.message}`;
  });
  throw new Error(`invalid control-plane configuration:\n  ${lines.join('\n  ')}`);
}

/**
 * What each variable means and its default, for --help. Typed by the schema's keys, so a
 * variable added to {@link controlPlaneEnv} without a line here does not compile.
 */
const CONTROL_PLANE_VARIABLES: Record<keyof ControlPlaneEnv, string> = {
  SKIFF_GRPC_LISTEN: 'gRPC API address (host:port); default 127.0.0.1:50051',
  SKIFF_HTTP_LISTEN: '/metrics, /healthz and /readyz (host:port); default 127.0.0.1:9464',
  REDIS_URL: 'the state store and job queues; default redis://127.0.0.1:6379',
  SKIFF_REDIS_PREFIX: 'prefix of every Redis key; default skiff:',
  SKIFF_DATA_DIR: 'master key file and filesystem artifacts; default .skiff',
  SKIFF_MASTER_KEYS:
    '<id>:<base64 32 bytes>[,...] sealing secrets at rest (first seals new ones); default a key generated into SKIFF_DATA_DIR/master-key',
  SKIFF_ADMIN_TOKEN:
    "the platform admin's credential (skf_...); default generated on first start and printed once",
  SKIFF_ARTIFACTS: 'artifact store: filesystem or azure-blob; default filesystem',
  SKIFF_ARTIFACTS_DIR: 'filesystem artifact store; default SKIFF_DATA_DIR/artifacts',
  SKIFF_AZURE_BLOB_CONTAINER: 'azure-blob container; default skiff-artifacts',
  SKIFF_AZURE_BLOB_CONNECTION_STRING: 'azure-blob by connection string (also Azurite)',
  SKIFF_AZURE_BLOB_ACCOUNT_URL: 'azure-blob by account URL with Entra ID (DefaultAzureCredential)',
  SKIFF_TOKEN_ISSUER: '`iss` of service tokens; default skiff-control-plane',
  SKIFF_TOKEN_LIFETIME_SECONDS: 'lifetime of service tokens, 60-86400; default 3600',
  SKIFF_MAX_UPLOAD_BYTES: 'largest model or snapshot accepted; default 8 GiB',
  SKIFF_RECONCILE_SECONDS: 'how often transitioning services are re-read; default 5',
  SKIFF_AGENT_REPORT_INTERVAL_MS: 'how often agents report their replicas; default 1000',
  SKIFF_AGENT_REDIS_ACL:
    'on: one Redis ACL user per compute target; off: the operator gives agents Redis credentials; default on',
  SKIFF_ARTIFACT_GC_INTERVAL_SECONDS:
    'how often unreferenced blobs and partial uploads are collected, 0 = never; default 600',
  SKIFF_ARTIFACT_GC_GRACE_SECONDS:
    'an unreferenced blob (or idle partial upload) is deleted only when older than this; default 3600',
  SKIFF_ARTIFACT_GC_SNAPSHOT_RETENTION_SECONDS:
    'a snapshot no service references is removed once unused this long; default 86400',
  SKIFF_SHUTDOWN_GRACE_SECONDS: 'on SIGTERM, how long RPCs in flight may finish; default 10',
  SKIFF_LOG_LEVEL: 'pino level; default info',
};

/** The --help text: usage and every variable with its meaning and default. */
export function controlPlaneHelp(): string {
  const width = Math.max(...Object.keys(CONTROL_PLANE_VARIABLES).map((name) => name.length));
  const rows = Object.entries(CONTROL_PLANE_VARIABLES).map(
    ([name, help]) => `  ${name.padEnd(width)}  ${help}`,
  );
  return [
    'Usage: skiff-control-plane [--help]',
    '',
    'The gRPC control plane: workspaces, models, environments and services, deploy jobs for',
    'the agents, routing tables for the routers (docs/control-plane.md). Configured by the',
    'environment; every variable has a default that runs on this machine, loopback only:',
    '',
    ...rows,
    '',
    'Exit codes: 0 stopped by SIGTERM/SIGINT, 2 bad configuration, 1 any other failure.',
    '',
  ].join('\n');
}
