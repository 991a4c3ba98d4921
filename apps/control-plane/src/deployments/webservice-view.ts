import { AuthMode, WebserviceSpec, WebserviceState, type Webservice } from '@skiff/proto';
import type { ComputeRecord, ReplicaReport, ServiceLoadTotal, ServiceRecord } from '@skiff/store';

/** What agents and routers of the service's compute target report now. */
export interface ObservedLoad {
  /** Every replica live agents report (undefined: no live agent, use the last job's count). */
  readonly replicas?: readonly ReplicaReport[] | undefined;
  /** Queued and in-flight requests per service name, over live routers. */
  readonly routers?: ReadonlyMap<string, ServiceLoadTotal>;
}

const STATES: Record<ServiceRecord['state'], WebserviceState> = {
  transitioning: WebserviceState.WEBSERVICE_STATE_TRANSITIONING,
  healthy: WebserviceState.WEBSERVICE_STATE_HEALTHY,
  unhealthy: WebserviceState.WEBSERVICE_STATE_UNHEALTHY,
  failed: WebserviceState.WEBSERVICE_STATE_FAILED,
  deleting: WebserviceState.WEBSERVICE_STATE_DELETING,
};

const AUTH_MODES: Record<ServiceRecord['authMode'], AuthMode> = {
  none: AuthMode.AUTH_MODE_NONE,
  key: AuthMode.AUTH_MODE_KEY,
  token: AuthMode.AUTH_MODE_TOKEN,
};

/** The API's state of a stored service state. */
export function webserviceState(state: ServiceRecord['state']): WebserviceState {
  return STATES[state];
}

/** The scoring URL of a service behind its compute target's router (Azure ML v1's path). */
export function scoringUri(routerUrl: string, service: string): string {
  return `${routerUrl}/api/v1/service/${service}/score`;
}

/**
 * What Get/List return for a stored service. Ready, current and in-flight counts come from
 * the replicas live agents report when there are live agents, else from the last job's
 * report; queued requests from live routers' reports.
 */
export function webserviceToProto(
  record: ServiceRecord,
  compute: ComputeRecord | undefined,
  observed: ObservedLoad = {},
): Webservice {
  const base = compute?.routerUrl ?? '';
  const own = observed.replicas?.filter((replica) => replica.service === record.name);
  const ready = own
    ? own.filter((replica) => replica.phase === 'ready').length
    : record.readyReplicas;
  const current = own ? own.filter((replica) => replica.phase !== 'failed').length : ready;
  const inFlight = own ? own.reduce((sum, replica) => sum + replica.inFlight, 0) : 0;
  const last = record.lastScale;
  return {
    workspace: record.workspace,
    name: record.name,
    spec: WebserviceSpec.fromJSON(record.spec),
    state: STATES[record.state],
    scoringUri: base ? scoringUri(base, record.name) : '',
    swaggerUri: base ? `${base}/api/v1/service/${record.name}/swagger.json` : '',
    replicas: {
      desired: record.desiredReplicas,
      ready,
      inFlight,
      queued: observed.routers?.get(record.name)?.queued ?? 0,
      current,
    },
    lastScaleDecision: last
      ? {
          replicas: last.replicas,
          kind: last.kind,
          reason: last.reason,
          time: new Date(last.time),
          sequence: last.sequence,
        }
      : undefined,
    error: record.error
      ? { code: record.error.code, message: record.error.message, replicaLogs: [] }
      : undefined,
    generation: record.generation,
    appliedGeneration: record.appliedGeneration,
    environmentHash: record.environmentHash,
    authMode: AUTH_MODES[record.authMode],
    createTime: new Date(record.createdAt),
    updateTime: new Date(record.updatedAt),
    updatedBy: record.updatedBy,
  };
}
