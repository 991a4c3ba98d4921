import type { DoctorReport } from '@skiff/doctor';
import { Counter, Gauge, Registry } from 'prom-client';

/** The doctor's Prometheus metrics, on their own registry. */
export interface DoctorMetrics {
  readonly registry: Registry;
  /** Replaces the per-check series with this report's. */
  record(report: DoctorReport): void;
  /** Counts a run that could not produce a report. */
  recordError(): void;
}

/** Creates the metrics (see docs/doctor.md, "Continuous mode"). */
export function createDoctorMetrics(): DoctorMetrics {
  const registry = new Registry();
  const checkLabels = ['phase', 'subject', 'kind', 'host'] as const;
  const status = new Gauge({
    name: 'skiff_doctor_check_status',
    help: 'Latest status of each check: 1 for the status label that applies (pass, warn, fail, blocked, skipped).',
    labelNames: [...checkLabels, 'status'],
    registers: [registry],
  });
  const duration = new Gauge({
    name: 'skiff_doctor_check_duration_seconds',
    help: 'How long each check took in the latest run.',
    labelNames: checkLabels,
    registers: [registry],
  });
  const dnsLatency = new Gauge({
    name: 'skiff_doctor_dns_latency_seconds',
    help: 'Latency of the latest DNS answer per host, resolver and record type.',
    labelNames: ['host', 'resolver', 'type', 'rcode'],
    registers: [registry],
  });
  const diagnoses = new Gauge({
    name: 'skiff_doctor_diagnosis',
    help: 'Diagnoses of the latest run: 1 per diagnosis id and check.',
    labelNames: ['id', 'check', 'severity'],
    registers: [registry],
  });
  const failedRequired = new Gauge({
    name: 'skiff_doctor_failed_checks',
    help: 'Required checks that failed in the latest run (0 when healthy).',
    registers: [registry],
  });
  const lastRun = new Gauge({
    name: 'skiff_doctor_last_run_timestamp_seconds',
    help: 'When the latest run started (Unix time).',
    registers: [registry],
  });
  const lastDuration = new Gauge({
    name: 'skiff_doctor_last_run_duration_seconds',
    help: 'How long the latest run took.',
    registers: [registry],
  });
  const runs = new Counter({
    name: 'skiff_doctor_runs_total',
    help: 'Runs by result: ok (exit 0), failed (a required check failed), error (no report).',
    labelNames: ['result'],
    registers: [registry],
  });
  return {
    registry,
    record(report) {
      status.reset();
      duration.reset();
      dnsLatency.reset();
      diagnoses.reset();
      for (const check of report.phases.flatMap((phase) => phase.checks)) {
        const labels = {
          phase: String(check.phase),
          subject: check.subject,
          kind: check.kind,
          host: check.host ?? '',
        };
        status.set({ ...labels, status: check.status }, 1);
        duration.set(labels, check.durationMs / 1000);
        if (check.data?.kind === 'dns') {
          for (const query of check.data.queries) {
            dnsLatency.set(
              {
                host: check.host ?? '',
                resolver: query.resolver,
                type: query.type,
                rcode: query.rcode ?? query.error ?? 'none',
              },
              query.latencyMs / 1000,
            );
          }
        }
      }
      for (const diagnosis of report.diagnoses) {
        diagnoses.set(
          { id: diagnosis.id, check: diagnosis.checkId, severity: diagnosis.severity },
          1,
        );
      }
      failedRequired.set(report.summary.fail);
      lastRun.set(Date.parse(report.startedAt) / 1000);
      lastDuration.set(report.durationMs / 1000);
      runs.inc({ result: report.summary.exitCode === 0 ? 'ok' : 'failed' });
    },
    recordError() {
      runs.inc({ result: 'error' });
    },
  };
}
