import { REPORT_SCHEMA, type DoctorReport } from '@skiff/doctor';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startContinuousDoctor } from './continuous.js';
import { createDoctorMetrics } from './metrics.js';
import type { DoctorReportSink } from './report-sink.js';

function report(status: 'pass' | 'fail', subject = 'mcr'): DoctorReport {
  return {
    schema: REPORT_SCHEMA,
    plan: { name: 'p', schemaVersion: 1 },
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 10,
    timeoutMs: 5000,
    slowDnsMs: 2000,
    resolvers: ['127.0.0.2:53'],
    phases: [
      {
        phase: 1,
        title: 'One',
        checks: [
          {
            id: `${subject}.tcp`,
            kind: 'tcp',
            phase: 1,
            subject,
            host: `${subject}.example`,
            port: 443,
            required: true,
            why: 'w',
            status,
            detail: 'd',
            durationMs: 3,
          },
        ],
      },
    ],
    diagnoses: [],
    unchecked: [],
    summary: {
      pass: status === 'pass' ? 1 : 0,
      warn: 0,
      fail: status === 'fail' ? 1 : 0,
      blocked: 0,
      skipped: 0,
      exitCode: status === 'fail' ? 1 : 0,
    },
  };
}

describe('continuous doctor', () => {
  it('runs repeatedly without overlap, publishes every report and counts errors', async () => {
    const metrics = createDoctorMetrics();
    const published: string[] = [];
    const sink: DoctorReportSink = {
      publish: (published_report, node) => {
        published.push(`${node}:${published_report.summary.exitCode}`);
        return Promise.resolve();
      },
    };
    let running = 0;
    let overlapped = false;
    let runs = 0;
    const outcomes = [report('fail'), report('pass', 'acr'), new Error('plan vanished')];
    let finished: () => void = () => undefined;
    const threeRuns = new Promise<void>((resolve) => (finished = resolve));
    const doctor = await startContinuousDoctor({
      runOnce: async () => {
        running += 1;
        overlapped ||= running > 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        const outcome = outcomes[runs++ % outcomes.length];
        if (outcome instanceof Error) throw outcome;
        return outcome!;
      },
      everyMs: 1,
      metrics,
      listen: { host: '127.0.0.1', port: 0 },
      logger: pino({ level: 'silent' }),
      sinks: [sink],
      node: 'node-a',
      onRun: () => {
        if (runs === 3) finished();
      },
    });
    await threeRuns;
    await doctor.stop();
    expect(overlapped).toBe(false);
    expect(published.slice(0, 2)).toEqual(['node-a:1', 'node-a:0']);
    const text = await metrics.registry.metrics();
    expect(text).toContain('skiff_doctor_runs_total{result="failed"} 1');
    expect(text).toContain('skiff_doctor_runs_total{result="ok"} 1');
    expect(text).toContain('skiff_doctor_runs_total{result="error"} 1');
    // The second report replaced the first one's series: mcr is gone, acr is there.
    expect(text).not.toContain('subject="mcr"');
    expect(text).toContain(
      'skiff_doctor_check_status{phase="1",subject="acr",kind="tcp",host="acr.example",status="pass"} 1',
    );
  });
});
