import { AuthMode, WebserviceSpec, WebserviceState, type Webservice } from '@skiff/proto';
import type { ComputeRecord, ReplicaReport, ServiceRecord } from '@skiff/store';

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
 * What Get/List return for a stored service. Ready and in-flight counts come from the
 * replicas live agents report (`reported`, every service of the compute target) when there
 * are live agents, else from the last job's report.
 */
export function webserviceToProto(
  record: ServiceRecord,
  compute: ComputeRecord | undefined,
  reported?: readonly ReplicaReport[],
): Webservice {
  const base = compute?.routerUrl ?? '';
  const own = reported?.filter((replica) => replica.service === record.name);
  const ready = own
    ? own.filter((replica) => replica.phase === 'ready').length
    : record.readyReplicas;
  const inFlight = own ? own.reduce((sum, replica) => sum + replica.inFlight, 0) : 0;
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
      queued: 0,
    },
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
