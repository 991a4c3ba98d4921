// The routing table as the hot path uses it: everything a request needs (auth digests, token
// keys, limits, replica addresses) is parsed here once per table version, never per request.
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { serviceTokenAudience } from '@skiff/auth';
import {
  AuthMode,
  ReplicaPhase,
  type Duration,
  type RoutingTable,
  type ServiceRoute,
} from '@skiff/proto';

/** Defaults for limits a route leaves unset (0), as Azure ML v1's deploymentconfig has them. */
export const ROUTE_DEFAULTS = {
  maxConcurrentPerReplica: 1,
  maxQueueWaitMs: 500,
  scoringTimeoutMs: 60_000,
  maxBodyBytes: 100 * 1024 * 1024,
} as const;

/** How callers of a service authenticate. */
export type ServiceAuth =
  | { readonly mode: 'none' }
  | { readonly mode: 'key'; readonly digests: readonly Buffer[] }
  | { readonly mode: 'token'; readonly audience: string };

/** One replica of a service as the table lists it. */
export interface RouteReplica {
  /** Stable identity across tables: replica id and address. */
  readonly key: string;
  readonly replicaId: string;
  readonly host: string;
  readonly port: number;
  /** `host:port`. */
  readonly address: string;
  /** Only READY replicas get requests. */
  readonly ready: boolean;
}

/** One service's route, compiled. */
export interface ServiceEndpoint {
  readonly workspace: string;
  readonly service: string;
  readonly generation: number;
  readonly auth: ServiceAuth;
  readonly maxConcurrentPerReplica: number;
  readonly maxQueueWaitMs: number;
  readonly scoringTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly dataCollection: boolean;
  readonly requestLogging: boolean;
  readonly replicas: readonly RouteReplica[];
}

/** Token verification inputs shared by every token-auth service of a table. */
export interface TokenKeys {
  readonly issuer: string;
  /** Undefined when the table's JWKS is missing or malformed: every token is then refused. */
  readonly keys: JWTVerifyGetKey | undefined;
}

/** A compiled routing table. */
export interface RouteTable {
  readonly version: number;
  /** By service name (the URL's `<name>`). */
  readonly services: ReadonlyMap<string, ServiceEndpoint>;
  readonly tokens: TokenKeys;
}

/** Something the table carried that the router could not use, for a log line. */
export interface TableProblem {
  readonly service?: string;
  readonly problem: string;
}

/** Compiles a table from the control plane; `problems` lists what was skipped or refused. */
export function compileTable(table: RoutingTable): {
  table: RouteTable;
  problems: TableProblem[];
} {
  const problems: TableProblem[] = [];
  const services = new Map<string, ServiceEndpoint>();
  for (const route of table.services) {
    if (services.has(route.service)) {
      problems.push({ service: route.service, problem: 'listed twice; the first entry is used' });
      continue;
    }
    services.set(route.service, compileRoute(route, problems));
  }
  let keys: JWTVerifyGetKey | undefined;
  if (table.tokenJwks !== '') {
    try {
      keys = createLocalJWKSet(JSON.parse(table.tokenJwks) as JSONWebKeySet);
    } catch (error) {
      problems.push({ problem: `token_jwks is not a JSON Web Key Set: ${String(error)}` });
    }
  }
  return {
    table: { version: table.version, services, tokens: { issuer: table.tokenIssuer, keys } },
    problems,
  };
}

function compileRoute(route: ServiceRoute, problems: TableProblem[]): ServiceEndpoint {
  const replicas: RouteReplica[] = [];
  for (const replica of route.replicas) {
    // Starting and terminating replicas get no requests; one without an address yet (still
    // starting) is simply not routable. Only a READY replica without one is a problem.
    const ready = replica.phase === ReplicaPhase.REPLICA_PHASE_READY;
    if (!ready && replica.address === '') continue;
    const parsed = splitAddress(replica.address);
    if (!parsed) {
      problems.push({
        service: route.service,
        problem: `replica ${replica.replicaId} has no usable address '${replica.address}'`,
      });
      continue;
    }
    replicas.push({
      key: `${replica.replicaId}@${replica.address}`,
      replicaId: replica.replicaId,
      address: replica.address,
      ...parsed,
      ready,
    });
  }
  return {
    workspace: route.workspace,
    service: route.service,
    generation: route.generation,
    auth: compileAuth(route, problems),
    maxConcurrentPerReplica:
      route.maxConcurrentPerReplica > 0
        ? route.maxConcurrentPerReplica
        : ROUTE_DEFAULTS.maxConcurrentPerReplica,
    maxQueueWaitMs: millis(route.maxQueueWait) ?? ROUTE_DEFAULTS.maxQueueWaitMs,
    scoringTimeoutMs: millis(route.scoringTimeout) ?? ROUTE_DEFAULTS.scoringTimeoutMs,
    maxBodyBytes: route.maxBodyBytes > 0 ? route.maxBodyBytes : ROUTE_DEFAULTS.maxBodyBytes,
    dataCollection: route.dataCollection,
    requestLogging: route.requestLogging,
    replicas,
  };
}

function compileAuth(route: ServiceRoute, problems: TableProblem[]): ServiceAuth {
  switch (route.authMode) {
    case AuthMode.AUTH_MODE_NONE:
      return { mode: 'none' };
    case AuthMode.AUTH_MODE_TOKEN:
      return {
        mode: 'token',
        audience:
          route.tokenAudience ||
          serviceTokenAudience({ workspace: route.workspace, name: route.service }),
      };
    case AuthMode.AUTH_MODE_KEY:
      break;
    default:
      // Fail closed: an auth mode this router does not know is treated as key auth.
      problems.push({
        service: route.service,
        problem: `unknown auth mode ${route.authMode}; treated as key auth`,
      });
  }
  const digests: Buffer[] = [];
  for (const digest of route.keySha256) {
    const bytes = digestBytes(digest);
    if (bytes) digests.push(bytes);
    else problems.push({ service: route.service, problem: 'a key digest is not a SHA-256' });
  }
  return { mode: 'key', digests };
}

/** A SHA-256 digest in hex (the contract) or base64url (how @skiff/auth stores it). */
function digestBytes(digest: string): Buffer | undefined {
  const bytes = /^[0-9a-fA-F]{64}$/.test(digest)
    ? Buffer.from(digest, 'hex')
    : /^[A-Za-z0-9_-]{43}$/.test(digest)
      ? Buffer.from(digest, 'base64url')
      : undefined;
  return bytes?.length === 32 ? bytes : undefined;
}

function millis(duration: Duration | undefined): number | undefined {
  if (!duration) return undefined;
  const ms = duration.seconds * 1_000 + Math.floor(duration.nanos / 1_000_000);
  return ms > 0 ? ms : undefined;
}

function splitAddress(address: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(address);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: match[1] ?? match[2] ?? '', port };
}
