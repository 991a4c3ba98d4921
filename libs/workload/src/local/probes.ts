// Readiness, liveness and in-flight counts, asked of the scoring server over loopback HTTP.
// Probe results live in memory: they describe health, not what exists, and a restarted agent
// rebuilds them by probing again (keeping the recorded phase until a probe says otherwise, so an
// agent restart does not take ready replicas out of routing).
import { request } from 'node:http';
import type { ServiceKey } from '../driver.js';
import type { ReplicaRecord } from './records.js';

/** The metric the scoring server exports for requests inside run() (apps/scoring-server metrics). */
export const IN_FLIGHT_METRIC = 'skiff_scoring_in_flight_requests';

const MAX_BODY = 64 * 1024;

/** One HTTP answer, its body cut at 64 KiB. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** GET http://127.0.0.1:<port><path>, no keep-alive (a probe must not delay a drain). */
export function httpGet(port: number, path: string, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < MAX_BODY) body += chunk;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: body.slice(0, MAX_BODY) });
      });
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

/** What `GET /` said about a replica. */
export type Readiness =
  | { readonly kind: 'ready' }
  | { readonly kind: 'init-failed'; readonly reason: string }
  | { readonly kind: 'not-ready'; readonly reason: string };

/** Reads the scoring server's `GET /` answer: 200 ready; 503 "init() failed: …" failed. */
export function readinessOf(answer: HttpAnswer | Error): Readiness {
  if (answer instanceof Error) return { kind: 'not-ready', reason: answer.message };
  if (answer.status === 200) return { kind: 'ready' };
  const body = answer.body.trim();
  if (body.startsWith('init() failed')) return { kind: 'init-failed', reason: body };
  return { kind: 'not-ready', reason: `GET / answered ${answer.status} ${body}`.trim() };
}

/** The sum of {@link IN_FLIGHT_METRIC} samples in a Prometheus text page, or undefined. */
export function inFlightOf(metrics: string): number | undefined {
  let total: number | undefined;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(IN_FLIGHT_METRIC)) continue;
    const rest = line.slice(IN_FLIGHT_METRIC.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue; // another metric with this prefix
    const value = Number(rest.slice(rest.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

/** What the probes know about one run of one replica. */
export interface ProbeState {
  readiness: Readiness | undefined;
  livenessFailures: number;
  livenessError: string;
  lastLivenessAt: number;
  readinessInFlight: boolean;
  livenessInFlight: boolean;
}

/** Options of {@link ReplicaProbes}. */
export interface ReplicaProbesOptions {
  readonly readinessTimeoutMs: number;
  /** Called when a probe result changes what the supervisor should do for the service. */
  readonly onChange: (key: ServiceKey) => void;
}

/** Runs the probes of running replicas in the background and keeps their latest results. */
export class ReplicaProbes {
  private readonly states = new Map<string, ProbeState>();

  constructor(private readonly options: ReplicaProbesOptions) {}

  /** The results for the replica's current run, if any probe has answered yet. */
  state(record: ReplicaRecord): ProbeState | undefined {
    return this.states.get(runKey(record));
  }

  /** Forgets every run of a replica (it stopped, or is being removed). */
  forget(replicaId: string): void {
    for (const key of this.states.keys()) {
      if (key.startsWith(`${replicaId}:`)) this.states.delete(key);
    }
  }

  /** Starts the probes that are due for a running replica; never waits for them. */
  observe(record: ReplicaRecord, now: number): void {
    const key = runKey(record);
    let state = this.states.get(key);
    if (!state) {
      state = {
        readiness: undefined,
        livenessFailures: 0,
        livenessError: '',
        lastLivenessAt: 0,
        readinessInFlight: false,
        livenessInFlight: false,
      };
      this.states.set(key, state);
    }
    const s = state;
    const settled = s.readiness?.kind === 'ready' || s.readiness?.kind === 'init-failed';
    if (record.port > 0 && record.phase !== 'ready' && !settled && !s.readinessInFlight) {
      s.readinessInFlight = true;
      void httpGet(record.port, '/', this.options.readinessTimeoutMs)
        .then(readinessOf, readinessOf)
        .then((readiness) => {
          s.readinessInFlight = false;
          const changed = readiness.kind !== s.readiness?.kind;
          s.readiness = readiness;
          if (changed && this.states.get(key) === s) this.options.onChange(record);
        });
    }
    const { liveness } = record;
    const due =
      now >= record.startedAt + liveness.initialDelaySeconds * 1_000 &&
      now >= s.lastLivenessAt + liveness.periodSeconds * 1_000;
    if (due && !s.livenessInFlight) {
      s.livenessInFlight = true;
      s.lastLivenessAt = now;
      const probe =
        record.port > 0
          ? httpGet(record.port, '/live', liveness.timeoutSeconds * 1_000)
          : Promise.reject(new Error('not listening yet'));
      void probe
        .then(
          (answer) =>
            answer.status >= 200 && answer.status < 400
              ? ''
              : `GET /live answered ${answer.status} ${answer.body.trim()}`.trim(),
          (error: unknown) => `GET /live: ${error instanceof Error ? error.message : error}`,
        )
        .then((failure) => {
          s.livenessInFlight = false;
          if (failure === '') {
            s.livenessFailures = 0;
            s.livenessError = '';
            return;
          }
          s.livenessFailures += 1;
          s.livenessError = failure;
          if (s.livenessFailures >= liveness.failureThreshold && this.states.get(key) === s) {
            this.options.onChange(record);
          }
        });
    }
  }
}

function runKey(record: ReplicaRecord): string {
  return `${record.id}:${record.pid}:${record.runs}`;
}
