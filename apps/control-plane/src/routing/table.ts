import { createHash } from 'node:crypto';
import { serviceTokenAudience } from '@skiff/auth';
import {
  AuthMode,
  ReplicaPhase,
  RoutingTable,
  WebserviceSpec,
  type ReplicaStatus,
  type ServiceRoute,
} from '@skiff/proto';
import type { ReplicaReport, ServiceRecord, Store } from '@skiff/store';

/** Largest scoring request body (SPEC.md §3). */
export const MAX_SCORING_BODY_BYTES = 100 * 1024 * 1024;

const AUTH_MODES: Record<ServiceRecord['authMode'], AuthMode> = {
  none: AuthMode.AUTH_MODE_NONE,
  key: AuthMode.AUTH_MODE_KEY,
  token: AuthMode.AUTH_MODE_TOKEN,
};

const PHASES: Partial<Record<ReplicaReport['phase'], ReplicaPhase>> = {
  starting: ReplicaPhase.REPLICA_PHASE_STARTING,
  ready: ReplicaPhase.REPLICA_PHASE_READY,
  terminating: ReplicaPhase.REPLICA_PHASE_TERMINATING,
};

/** What the table is built from, besides the store. */
export interface TableSources {
  readonly store: Store;
  /** JWKS (JSON) of the token signing keys. */
  readonly tokenJwks: () => string;
  readonly tokenIssuer: string;
}

/**
 * A replica as routers see it: where it is, its phase and slots. Counters that change with
 * every report (in-flight, restarts, message) are left out, so the table changes only when
 * routing does; routers count their own outstanding requests.
 */
function routedReplica(report: ReplicaReport): ReplicaStatus | undefined {
  const phase = PHASES[report.phase];
  if (phase === undefined) return undefined;
  return {
    workspace: report.workspace,
    service: report.service,
    generation: report.generation,
    replicaId: report.replicaId,
    address: report.address,
    phase,
    inFlight: 0,
    maxConcurrent: report.maxConcurrent,
    nodeName: report.nodeName,
    startTime: new Date(report.startTime),
    restartCount: 0,
    message: '',
  };
}

/** The stored key digest (base64url sha256) as the table's hex. */
const hexDigest = (base64url: string) => Buffer.from(base64url, 'base64url').toString('hex');

function serviceRoute(record: ServiceRecord, replicas: readonly ReplicaReport[]): ServiceRoute {
  const dc = WebserviceSpec.fromJSON(record.spec).deploymentConfig;
  return {
    workspace: record.workspace,
    service: record.name,
    generation: record.generation,
    authMode: AUTH_MODES[record.authMode],
    keySha256:
      record.authMode === 'key' && record.keys
        ? [hexDigest(record.keys.primary.sha256), hexDigest(record.keys.secondary.sha256)]
        : [],
    tokenAudience: serviceTokenAudience({ workspace: record.workspace, name: record.name }),
    maxConcurrentPerReplica: dc?.maxConcurrentRequestsPerContainer ?? 1,
    maxQueueWait: dc?.maxQueueWait,
    scoringTimeout: dc?.scoringTimeout,
    maxBodyBytes: MAX_SCORING_BODY_BYTES,
    dataCollection: dc?.dataCollection?.storageEnabled ?? false,
    requestLogging: dc?.appInsightsEnabled ?? false,
    replicas: replicas
      .filter((replica) => replica.service === record.name)
      .flatMap((replica) => routedReplica(replica) ?? [])
      .sort((a, b) => (a.replicaId < b.replicaId ? -1 : a.replicaId > b.replicaId ? 1 : 0)),
  };
}

/** A routing table's content (version 0) and the hash its version is keyed by. */
export interface TableContent {
  readonly table: RoutingTable;
  readonly hash: string;
}

/**
 * The routing table of a compute target as the store has it now: every service on it that is
 * not being deleted (a deleted service is absent, so routers answer 404), with auth, limits
 * and the replicas live agents report.
 */
export async function buildRoutingTable(
  sources: TableSources,
  workspace: string,
  compute: string,
): Promise<TableContent> {
  const { store } = sources;
  const services = (await store.services.list(workspace))
    .filter((record) => record.compute === compute && record.state !== 'deleting')
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const replicas = services.length > 0 ? await store.agents.replicas(workspace, compute) : [];
  const table: RoutingTable = {
    version: 0,
    services: services.map((record) => serviceRoute(record, replicas)),
    tokenJwks: sources.tokenJwks(),
    tokenIssuer: sources.tokenIssuer,
  };
  const hash = createHash('sha256').update(RoutingTable.encode(table).finish()).digest('base64url');
  return { table, hash };
}
