import type { CheckResult } from '../checks/model.js';
import { describeTrustSource } from '../checks/trust-store.js';
import type { DoctorReport } from './model.js';

function escape(text: string): string {
  return (
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      // XML 1.0 cannot carry most control characters, even escaped.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
  );
}

function testcase(result: CheckResult, report: DoctorReport, suite: string): string {
  const name =
    `${result.subject} ${result.kind} ${result.host ?? ''}${result.port !== undefined ? `:${result.port}` : ''}`.trim();
  const open = `    <testcase classname="${escape(suite)}" name="${escape(name)}" time="${(result.durationMs / 1000).toFixed(3)}"`;
  const explanations = report.diagnoses
    .filter((diagnosis) => diagnosis.checkId === result.id)
    .map(
      (diagnosis) =>
        `${diagnosis.id}: ${diagnosis.summary}\nfix: ${diagnosis.fix}\nrule: ${diagnosis.rule}`,
    )
    .join('\n\n');
  switch (result.status) {
    case 'fail':
      return `${open}>\n      <failure message="${escape(result.detail)}" type="${escape(result.kind)}">${escape(explanations || result.detail)}</failure>\n    </testcase>`;
    case 'blocked':
    case 'skipped':
      return `${open}>\n      <skipped message="${escape(result.detail)}"/>\n    </testcase>`;
    case 'warn':
      return `${open}>\n      <system-out>${escape(`warning: ${result.detail}\n${explanations}`)}</system-out>\n    </testcase>`;
    case 'pass':
      return `${open}/>`;
  }
}

// JUnit has no run-level properties, so every suite repeats them (CI systems show them per suite).
function properties(report: DoctorReport): string[] {
  const trust = report.trust;
  if (trust === undefined) return [];
  const property = (name: string, value: string) =>
    `      <property name="${escape(name)}" value="${escape(value)}"/>`;
  return [
    '    <properties>',
    property('trust.mode', trust.mode),
    ...trust.public.map((source, index) =>
      property(`trust.public.${index + 1}`, describeTrustSource(source)),
    ),
    ...trust.cluster.map((source, index) =>
      property(`trust.cluster.${index + 1}`, describeTrustSource(source)),
    ),
    '    </properties>',
  ];
}

/**
 * JUnit XML for CI systems: one suite per phase, one test case per check; warnings pass. Each
 * suite carries the roots TLS checks used as properties.
 */
export function renderJunit(report: DoctorReport): string {
  const suites = report.phases.map((phase) => {
    const name = `Phase ${phase.phase}: ${phase.title}`;
    const count = (status: CheckResult['status']) =>
      phase.checks.filter((check) => check.status === status).length;
    const skipped = count('blocked') + count('skipped');
    const time =
      phase.checks.reduce((longest, check) => Math.max(longest, check.durationMs), 0) / 1000;
    return [
      `  <testsuite name="${escape(name)}" tests="${phase.checks.length}" failures="${count('fail')}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">`,
      ...properties(report),
      ...phase.checks.map((check) => testcase(check, report, name)),
      '  </testsuite>',
    ].join('\n');
  });
  const failures = report.summary.fail;
  const tests = report.phases.reduce((sum, phase) => sum + phase.checks.length, 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="skiff doctor" tests="${tests}" failures="${failures}" errors="0" time="${(report.durationMs / 1000).toFixed(3)}" timestamp="${report.startedAt}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
