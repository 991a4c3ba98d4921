import { InvalidArgumentError } from '@skiff/errors';
import type { RoutingServiceServer } from '@skiff/proto';
import type { ServiceLoadRecord } from '@skiff/store';
import { routingTopic, servicesTopic } from '../deployments/events.js';
import { buildRoutingTable } from '../routing/table.js';
import { scopeWorkspace } from '../rpc/context.js';
import { clientStream, serverStream } from '../rpc/handlers.js';
import { requireServiceName, requireString } from '../rpc/validate.js';
import { boundCompute, credentialCompute } from './agent-scope.js';
import type { ServiceDeps } from './deps.js';
import { follow } from './follow.js';

const m = (name: string) => `/skiff.v1.RoutingService/${name}`;

/** Most services one load report may list. */
const MAX_SERVICES_PER_REPORT = 10_000;
/** Largest count a router may report for one service (sanity bound, not a limit). */
const MAX_COUNT = 1_000_000;
/** A router's load report counts for this long without a newer one. */
const MIN_LOAD_TTL_MS = 3_000;

function requireRouterId(value: string, field: string): string {
  const id = requireString(value, field, 'the router id (e.g. its pod name)');
  if (id.length > 253 || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) {
    throw new InvalidArgumentError(
      `${field}: expected letters, digits, '.', '_' or '-' (at most 253 characters)`,
      { field },
    );
  }
  return id;
}

function requireCount(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_COUNT) {
    throw new InvalidArgumentError(`${field}: expected an integer from 0 to ${MAX_COUNT}`, {
      field,
    });
  }
  return value;
}

/**
 * RoutingService: the routers of a compute target (agent credentials bound to it) stream its
 * routing table and report their queues. The table is rebuilt on every replica report, service
 * change and key change, and at least every second; it is sent only when its content changed,
 * under a version from one Redis counter, so it only grows across control-plane processes.
 */
export function routingService(deps: ServiceDeps): RoutingServiceServer {
  const { store } = deps;
  const loadTtlMs = Math.max(MIN_LOAD_TTL_MS, deps.agentReportIntervalMs * 3);

  return {
    watchRoutingTable: serverStream(
      deps,
      { method: m('WatchRoutingTable') },
      async (request, context, send) => {
        const { workspace, compute } = await boundCompute(
          deps,
          context,
          request.workspace,
          request.compute,
        );
        const routerId =
          request.routerId === '' ? '' : requireRouterId(request.routerId, 'router_id');
        context.target = `compute/${compute}${routerId ? `/router/${routerId}` : ''}`;
        const sources = {
          store,
          tokenJwks: () => JSON.stringify(deps.tokenKeys().jwks()),
          tokenIssuer: deps.tokenIssuer,
        };
        let sentHash: string | undefined;
        await follow(
          store.feed,
          context.signal,
          [routingTopic(workspace, compute), servicesTopic(workspace)],
          async () => {
            const { table, hash } = await buildRoutingTable(sources, workspace, compute);
            if (hash === sentHash) return false;
            const version = await store.routing.tableVersion(workspace, compute, hash);
            await send({ table: { ...table, version } });
            sentHash = hash;
            return false;
          },
        );
      },
    ),

    reportRouterLoad: clientStream(
      deps,
      { method: m('ReportRouterLoad') },
      async (requests, context) => {
        const compute = await credentialCompute(deps, context);
        const workspace = scopeWorkspace(context, '');
        for await (const request of requests) {
          const routerId = requireRouterId(request.routerId, 'router_id');
          if (request.services.length > MAX_SERVICES_PER_REPORT) {
            throw new InvalidArgumentError(
              `services: at most ${MAX_SERVICES_PER_REPORT} per report, got ${request.services.length}`,
              { field: 'services' },
            );
          }
          const loads: ServiceLoadRecord[] = request.services.map((load, index) => {
            const field = `services[${index}]`;
            if (load.workspace !== workspace) {
              throw new InvalidArgumentError(
                `${field}.workspace: this router reports for workspace '${workspace}', not '${load.workspace.slice(0, 64)}'`,
                { field: `${field}.workspace` },
              );
            }
            return {
              workspace,
              service: requireServiceName(load.service, `${field}.service`),
              queued: requireCount(load.queued, `${field}.queued`),
              inFlight: requireCount(load.inFlight, `${field}.in_flight`),
            };
          });
          context.target = `compute/${compute}/router/${routerId}`;
          await store.routing.saveLoad(workspace, compute, routerId, loads, loadTtlMs);
        }
        return {};
      },
    ),
  };
}
