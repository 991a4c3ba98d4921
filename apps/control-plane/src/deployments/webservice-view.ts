import { AuthMode, WebserviceSpec, WebserviceState, type Webservice } from '@skiff/proto';
import type { ComputeRecord, ServiceRecord } from '@skiff/store';

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

/** The scoring URL of a service behind its compute target's router (Azure ML v1's path). */
export function scoringUri(routerUrl: string, service: string): string {
  return `${routerUrl}/api/v1/service/${service}/score`;
}

/** What Get/List return for a stored service. */
export function webserviceToProto(
  record: ServiceRecord,
  compute: ComputeRecord | undefined,
): Webservice {
  const base = compute?.routerUrl ?? '';
  return {
    workspace: record.workspace,
    name: record.name,
    spec: WebserviceSpec.fromJSON(record.spec),
    state: STATES[record.state],
    scoringUri: base ? scoringUri(base, record.name) : '',
    swaggerUri: base ? `${base}/api/v1/service/${record.name}/swagger.json` : '',
    replicas: {
      desired: record.desiredReplicas,
      ready: record.readyReplicas,
      inFlight: 0,
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
