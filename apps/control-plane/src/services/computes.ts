import { FailedPreconditionError, InvalidArgumentError } from '@skiff/errors';
import {
  ClusterPurpose,
  ComputeKind,
  ComputeState,
  type ComputeServiceServer,
  type ComputeTarget,
} from '@skiff/proto';
import type { AgentRecord, ComputeRecord } from '@skiff/store';
import { scopeWorkspace } from '../rpc/context.js';
import { unary } from '../rpc/handlers.js';
import { paginate, pageOffset, pageSize, requireDnsLabel } from '../rpc/validate.js';
import type { ServiceDeps } from './deps.js';

const m = (name: string) => `/skiff.v1.ComputeService/${name}`;

const KINDS: Record<ComputeRecord['kind'], ComputeKind> = {
  local: ComputeKind.COMPUTE_KIND_LOCAL,
  kubernetes: ComputeKind.COMPUTE_KIND_KUBERNETES,
};
const PURPOSES: Record<ComputeRecord['clusterPurpose'], ClusterPurpose> = {
  'dev-test': ClusterPurpose.CLUSTER_PURPOSE_DEV_TEST,
  'fast-prod': ClusterPurpose.CLUSTER_PURPOSE_FAST_PROD,
  'dense-prod': ClusterPurpose.CLUSTER_PURPOSE_DENSE_PROD,
};

/** The default router of the embedded (local) mode. */
export const LOCAL_ROUTER_URL = 'http://127.0.0.1:8080';

function keyOf<K extends string, V>(table: Record<K, V>, value: V): K | undefined {
  return (Object.entries(table) as [K, V][]).find(([, v]) => v === value)?.[0];
}

/** Ready while some agent was seen within three report intervals; Unreachable after. */
export interface AgentLiveness {
  agents: readonly AgentRecord[];
  now: Date;
  reportIntervalMs: number;
}

function agentState(liveness: AgentLiveness): Pick<ComputeTarget, 'state' | 'readyAgents'> {
  const horizon = liveness.now.getTime() - 3 * liveness.reportIntervalMs;
  const readyAgents = liveness.agents.filter((a) => Date.parse(a.lastSeen) >= horizon).length;
  const state =
    liveness.agents.length === 0
      ? ComputeState.COMPUTE_STATE_WAITING_FOR_AGENTS
      : readyAgents > 0
        ? ComputeState.COMPUTE_STATE_READY
        : ComputeState.COMPUTE_STATE_UNREACHABLE;
  return { state, readyAgents };
}

export function computeToProto(record: ComputeRecord, liveness: AgentLiveness): ComputeTarget {
  return {
    workspace: record.workspace,
    name: record.name,
    kind: KINDS[record.kind],
    clusterPurpose: PURPOSES[record.clusterPurpose],
    namespace: record.namespace,
    containerRegistry: record.containerRegistry
      ? {
          address: record.containerRegistry.address,
          username: record.containerRegistry.username ?? '',
          password: '',
        }
      : undefined,
    routerUrl: record.routerUrl,
    region: record.region,
    apiServer: record.apiServer,
    ...agentState(liveness),
    createTime: new Date(record.createdAt),
  };
}

function routerUrl(value: string, kind: ComputeRecord['kind']): string {
  if (value === '') {
    if (kind === 'local') return LOCAL_ROUTER_URL;
    throw new InvalidArgumentError(
      "compute.router_url: required for KUBERNETES targets, expected the base URL of the cluster's router, e.g. https://ml.example.com",
      { field: 'compute.router_url' },
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`compute.router_url: expected an http(s) URL, got '${value}'`, {
      field: 'compute.router_url',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`compute.router_url: expected an http(s) URL, got '${value}'`, {
      field: 'compute.router_url',
    });
  }
  return value.replace(/\/+$/, '');
}

/** ComputeService: attach, get, list, detach compute targets. */
export function computeService(deps: ServiceDeps): ComputeServiceServer {
  const { store } = deps;
  const liveness = async (workspace: string, compute: string): Promise<AgentLiveness> => ({
    agents: await store.agents.list(workspace, compute),
    now: deps.now(),
    reportIntervalMs: deps.agentReportIntervalMs,
  });
  return {
    attachCompute: unary(
      deps,
      { method: m('AttachCompute'), audited: true },
      async (request, context) => {
        const input = request.compute;
        const workspace = scopeWorkspace(context, input?.workspace ?? '');
        const ws = await store.workspaces.require(workspace);
        const name = requireDnsLabel(input?.name, 'compute.name', 2, 16);
        context.target = `compute/${name}`;
        const kind = keyOf(KINDS, input?.kind ?? ComputeKind.COMPUTE_KIND_UNSPECIFIED);
        if (!kind) {
          throw new InvalidArgumentError(
            'compute.kind: expected COMPUTE_KIND_LOCAL or COMPUTE_KIND_KUBERNETES',
            {
              field: 'compute.kind',
            },
          );
        }
        const purpose =
          input?.clusterPurpose === undefined ||
          input.clusterPurpose === ClusterPurpose.CLUSTER_PURPOSE_UNSPECIFIED
            ? 'dev-test'
            : keyOf(PURPOSES, input.clusterPurpose);
        if (!purpose) {
          throw new InvalidArgumentError(
            'compute.cluster_purpose: expected DEV_TEST, FAST_PROD or DENSE_PROD',
            {
              field: 'compute.cluster_purpose',
            },
          );
        }
        const namespace = input?.namespace
          ? requireDnsLabel(input.namespace, 'compute.namespace', 1, 63)
          : ws.defaultNamespace;
        const registry = input?.containerRegistry?.address
          ? {
              address: input.containerRegistry.address,
              ...(input.containerRegistry.username
                ? { username: input.containerRegistry.username }
                : {}),
            }
          : ws.containerRegistry;
        const record = await store.computes.attach({
          workspace,
          name,
          kind,
          clusterPurpose: purpose,
          namespace,
          ...(registry ? { containerRegistry: registry } : {}),
          routerUrl: routerUrl(input?.routerUrl ?? '', kind),
          region: input?.region ?? '',
          apiServer: input?.apiServer ?? '',
          createdAt: deps.now().toISOString(),
        });
        await deps.queues.watch(workspace, name);
        return { compute: computeToProto(record, await liveness(workspace, name)) };
      },
    ),

    getCompute: unary(deps, { method: m('GetCompute') }, async (request, context) => {
      const workspace = scopeWorkspace(context, request.workspace);
      const name = requireDnsLabel(request.name, 'name', 2, 16);
      const record = await store.computes.require(workspace, name);
      return { compute: computeToProto(record, await liveness(workspace, name)) };
    }),

    listComputes: unary(deps, { method: m('ListComputes') }, async (request, context) => {
      const workspace = scopeWorkspace(context, request.workspace);
      const size = pageSize(request.pageSize);
      const all = await store.computes.list(workspace);
      const { page, next } = paginate(all, size, pageOffset(request.pageToken));
      const computes = await Promise.all(
        page.map(async (record) => computeToProto(record, await liveness(workspace, record.name))),
      );
      return { computes, nextPageToken: next };
    }),

    detachCompute: unary(
      deps,
      { method: m('DetachCompute'), audited: true },
      async (request, context) => {
        const workspace = scopeWorkspace(context, request.workspace);
        const name = requireDnsLabel(request.name, 'name', 2, 16);
        context.target = `compute/${name}`;
        await store.computes.require(workspace, name);
        const using = (await store.services.list(workspace)).filter((s) => s.compute === name);
        if (using.length > 0) {
          throw new FailedPreconditionError(
            `compute target '${name}' still runs ${using.length} webservice(s) (${using.map((s) => s.name).join(', ')}); delete them first`,
          );
        }
        await store.computes.detach(workspace, name);
        await store.connectivity.clear(workspace, name);
        await store.agents.forget(workspace, name);
        await deps.agentRedis?.revoke(workspace, name);
        await deps.queues.unwatch(workspace, name);
        return {};
      },
    ),

    getConnectivity: unary(deps, { method: m('GetConnectivity') }, async (request, context) => {
      const workspace = scopeWorkspace(context, request.workspace);
      const name = requireDnsLabel(request.compute, 'compute', 2, 16);
      await store.computes.require(workspace, name);
      const reports = await store.connectivity.list(workspace, name);
      return {
        reports: reports.map((report) => ({ ...report, time: new Date(report.time) })),
      };
    }),
  };
}
