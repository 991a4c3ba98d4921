import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../checks/model.js';
import type { Diagnosis } from '../diagnoses/model.js';
import { renderHuman } from './human.js';
import { renderJson } from './json.js';
import { renderJunit } from './junit.js';
import { finalizeResults, REPORT_SCHEMA, summarize, type DoctorReport } from './model.js';

const result = (
  id: string,
  status: CheckResult['status'],
  extra: Partial<CheckResult> = {},
): CheckResult => ({
  id,
  kind: (id.split('.')[1] ?? 'tcp') as CheckResult['kind'],
  phase: 1,
  subject: id.split('.')[0] ?? id,
  host: `${id.split('.')[0] ?? id}.example`,
  required: true,
  why: `why ${id}`,
  status,
  detail: `detail of ${id}`,
  durationMs: 12,
  ...extra,
});

const diagnosis = (
  checkId: string,
  severity: Diagnosis['severity'],
  id = 'network.tcp-timeout',
): Diagnosis => ({
  id,
  severity,
  checkId,
  summary: `summary <&"> for ${checkId}`,
  fix: `fix for ${checkId}`,
  rule: `firewall: allow TCP 443 to ${checkId}`,
});

function report(results: CheckResult[], diagnoses: Diagnosis[]): DoctorReport {
  const final = finalizeResults(results, diagnoses);
  return {
    schema: REPORT_SCHEMA,
    plan: { name: 'test-plan', schemaVersion: 1 },
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1234,
    timeoutMs: 5000,
    slowDnsMs: 2000,
    resolvers: ['127.0.0.2:53'],
    phases: [
      { phase: 1, title: 'One', checks: final.results.filter((r) => r.phase === 1) },
      { phase: 4, title: 'Four', checks: final.results.filter((r) => r.phase === 4) },
    ],
    diagnoses: final.diagnoses,
    unchecked: [{ id: 'acr', phase: 4, kind: 'skipped', reason: 'needs {acr} (--acr)' }],
    summary: summarize(final.results),
  };
}

const sample = () =>
  report(
    [
      result('mcr.dns', 'pass'),
      result('mcr.tcp', 'fail', { port: 443 }),
      result('mcr.tls', 'blocked', { blockedBy: 'mcr.tcp', detail: 'blocked by mcr.tcp' }),
      result('kusto.dns', 'pass', { phase: 4 }),
      result('kusto.tcp', 'fail', { phase: 4, required: false }),
      result('blob.dns', 'pass', { phase: 4 }),
    ],
    [
      diagnosis('mcr.tcp', 'fail'),
      diagnosis('kusto.tcp', 'fail'),
      diagnosis('blob.dns', 'warn', 'dns.slow'),
    ],
  );

describe('finalizing results', () => {
  it('raises a passing check to warn when a warning explains it, and an optional failure to warn', () => {
    const { summary, phases, diagnoses } = sample();
    const status = Object.fromEntries(
      phases.flatMap((phase) => phase.checks).map((check) => [check.id, check.status]),
    );
    expect(status).toEqual({
      'mcr.dns': 'pass',
      'mcr.tcp': 'fail',
      'mcr.tls': 'blocked',
      'kusto.dns': 'pass',
      'kusto.tcp': 'warn',
      'blob.dns': 'warn',
    });
    expect(diagnoses.find((d) => d.checkId === 'kusto.tcp')?.severity).toBe('warn');
    expect(summary).toEqual({ pass: 2, warn: 2, fail: 1, blocked: 1, skipped: 0, exitCode: 1 });
  });

  it('exits 0 with warnings alone', () => {
    expect(
      summarize([result('a.dns', 'warn'), result('b.dns', 'blocked'), result('c.dns', 'pass')])
        .exitCode,
    ).toBe(0);
  });
});

describe('human report', () => {
  it('shows a table per phase with marks, and under each problem its diagnosis, why, fix and rule', () => {
    const text = renderHuman(sample());
    expect(text).toContain('Phase 1 — One');
    expect(text).toContain('Phase 4 — Four');
    expect(text).toMatch(/✓ ok\s+mcr\s+dns\s+mcr\.example\s+detail of mcr\.dns/);
    expect(text).toMatch(/✗ FAIL\s+mcr\s+tcp\s+mcr\.example:443/);
    expect(text).toMatch(/⊘ blocked\s+mcr\s+tls\s+.*blocked by mcr\.tcp/);
    expect(text).toMatch(/⚠ warn\s+kusto\s+tcp/);
    expect(text).toContain('✗ network.tcp-timeout: summary <&"> for mcr.tcp');
    expect(text).toContain('why:  why mcr.tcp');
    expect(text).toContain('fix:  fix for mcr.tcp');
    expect(text).toContain('rule: firewall: allow TCP 443 to mcr.tcp');
    expect(text).toContain('– acr (phase 4): needs {acr} (--acr)');
    expect(text).toContain(
      '2 ok, 2 warning(s), 1 failed, 1 blocked, 0 skipped in 1234 ms — exit 1',
    );
  });
});

describe('JSON report', () => {
  it('is the report itself, with its schema version first', () => {
    const json = renderJson(sample());
    const parsed = JSON.parse(json) as DoctorReport;
    expect(Object.keys(parsed)[0]).toBe('schema');
    expect(parsed.schema).toBe('skiff.dev/doctor-report/v1');
    expect(parsed).toEqual(sample());
  });
});

describe('JUnit report', () => {
  it('has one suite per phase, failures for failed checks, skips for blocked ones, and escapes XML', () => {
    const xml = renderJunit(sample());
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(xml).toContain('<testsuites name="skiff doctor" tests="6" failures="1"');
    expect(xml).toContain(
      '<testsuite name="Phase 1: One" tests="3" failures="1" errors="0" skipped="1"',
    );
    expect(xml).toContain(
      '<testsuite name="Phase 4: Four" tests="3" failures="0" errors="0" skipped="0"',
    );
    expect(xml.match(/<testcase /g)).toHaveLength(6);
    expect(xml).toContain(
      '<failure message="detail of mcr.tcp" type="tcp">network.tcp-timeout: summary &lt;&amp;&quot;&gt; for mcr.tcp',
    );
    expect(xml).toContain('<skipped message="blocked by mcr.tcp"/>');
    expect(xml).not.toMatch(/<&"/);
  });
});
