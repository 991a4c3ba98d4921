// Prometheus metrics of one replica, on a registry of its own (never prom-client's global one,
// so tests and embedders can create several servers in one process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric the scoring server exports at GET /metrics. */
export interface ScoringMetrics {
  readonly registry: Registry;
  readonly inFlight: Gauge;
  readonly requests: Counter<'status'>;
  readonly duration: Histogram<'status'>;
  readonly initDuration: Gauge;
  readonly workerRestarts: Counter<'reason'>;
  readonly dataCollectionDropped: Counter;
}

/** Creates the metrics with constant labels identifying the service and replica. */
export function createMetrics(labels: { service: string; replica: string }): ScoringMetrics {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    inFlight: new Gauge({
      name: 'skiff_scoring_in_flight_requests',
      help: 'Scoring requests currently inside run()',
      registers,
    }),
    requests: new Counter({
      name: 'skiff_scoring_requests_total',
      help: 'Scoring requests answered, by HTTP status',
      labelNames: ['status'],
      registers,
    }),
    duration: new Histogram({
      name: 'skiff_scoring_request_duration_seconds',
      help: 'Time from request received to response sent, by HTTP status',
      labelNames: ['status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    initDuration: new Gauge({
      name: 'skiff_scoring_init_duration_seconds',
      help: 'How long the entry script init() took (all workers)',
      registers,
    }),
    workerRestarts: new Counter({
      name: 'skiff_scoring_worker_restarts_total',
      help: 'Entry script workers replaced, by reason (timeout, exited)',
      labelNames: ['reason'],
      registers,
    }),
    dataCollectionDropped: new Counter({
      name: 'skiff_data_collection_dropped_total',
      help: 'Data collection records dropped because the writer fell behind or failed',
      registers,
    }),
  };
}
