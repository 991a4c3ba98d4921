// Prometheus metrics of the router, on a registry of its own (never prom-client's global one,
// so tests can run several routers in one process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReplicaPools } from './replica-pool.js';

/** Every metric the router exports at GET /metrics. */
export interface RouterMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'service' | 'route' | 'status'>;
  readonly duration: Histogram<'service' | 'route'>;
  readonly queueWait: Histogram<'service'>;
  readonly authFailures: Counter<'service' | 'result'>;
  readonly upstreamRetries: Counter<'service'>;
  readonly tableVersion: Gauge;
  readonly tableConnected: Gauge;
}

/** The `service` label of requests for names the table does not have (bounded cardinality). */
export const UNKNOWN_SERVICE = '(unknown)';

/** Creates the metrics; queued and in-flight gauges read `pools` at scrape time. */
export function createRouterMetrics(
  pools: ReplicaPools,
  table: { version(): number | undefined; connected(): boolean },
): RouterMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new Gauge({
    name: 'skiff_router_queued_requests',
    help: 'Requests waiting for a free replica slot, by service',
    labelNames: ['workspace', 'service'],
    registers,
    collect() {
      this.reset();
      for (const load of pools.load()) {
        this.set({ workspace: load.workspace, service: load.service }, load.queued);
      }
    },
  });
  new Gauge({
    name: 'skiff_router_in_flight_requests',
    help: 'Requests sent to replicas and not yet answered, by service',
    labelNames: ['workspace', 'service'],
    registers,
    collect() {
      this.reset();
      for (const load of pools.load()) {
        this.set({ workspace: load.workspace, service: load.service }, load.inFlight);
      }
    },
  });
  return {
    registry,
    requests: new Counter({
      name: 'skiff_router_requests_total',
      help: 'Scoring requests answered, by service, route (score, swagger) and HTTP status',
      labelNames: ['service', 'route', 'status'],
      registers,
    }),
    duration: new Histogram({
      name: 'skiff_router_request_duration_seconds',
      help: 'Time from request received to response finished, by service and route',
      labelNames: ['service', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    queueWait: new Histogram({
      name: 'skiff_router_queue_wait_seconds',
      help: 'Time requests waited for a replica slot, by service',
      labelNames: ['service'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    authFailures: new Counter({
      name: 'skiff_router_auth_failures_total',
      help: 'Refused scoring requests, by service and result (401, 429)',
      labelNames: ['service', 'result'],
      registers,
    }),
    upstreamRetries: new Counter({
      name: 'skiff_router_upstream_retries_total',
      help: 'Requests retried on another replica after a refused connection, by service',
      labelNames: ['service'],
      registers,
    }),
    tableVersion: new Gauge({
      name: 'skiff_router_routing_table_version',
      help: 'Version of the routing table in effect (0: none yet)',
      registers,
      collect() {
        this.set(table.version() ?? 0);
      },
    }),
    tableConnected: new Gauge({
      name: 'skiff_router_routing_table_connected',
      help: '1 while the routing table stream from the control plane is open',
      registers,
      collect() {
        this.set(table.connected() ? 1 : 0);
      },
    }),
  };
}
