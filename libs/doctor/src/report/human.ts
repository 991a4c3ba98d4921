import type { CheckResult, CheckStatus } from '../checks/model.js';
import { describeTrustSource, type TrustReport } from '../checks/trust-store.js';
import type { Diagnosis } from '../diagnoses/model.js';
import type { DoctorReport } from './model.js';

const marks: Readonly<Record<CheckStatus, string>> = {
  pass: '✓ ok     ',
  warn: '⚠ warn   ',
  fail: '✗ FAIL   ',
  blocked: '⊘ blocked',
  skipped: '– skipped',
};

function target(result: CheckResult): string {
  const host = result.host ?? result.subject;
  return result.port !== undefined ? `${host}:${result.port}` : host;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

function diagnosisLines(diagnosis: Diagnosis, why: string | undefined): string[] {
  const mark = diagnosis.severity === 'fail' ? '✗' : '⚠';
  return [
    `      ${mark} ${diagnosis.id}: ${diagnosis.summary}`,
    ...(why !== undefined ? [`        why:  ${why}`] : []),
    `        fix:  ${diagnosis.fix}`,
    `        rule: ${diagnosis.rule}`,
  ];
}

function trustLines(trust: TrustReport | undefined): string[] {
  if (trust === undefined) return [];
  return [
    `roots for public hosts (--trust ${trust.mode}):`,
    ...trust.public.map(
      (source) => `  ${source.error !== undefined ? '⚠' : '·'} ${describeTrustSource(source)}`,
    ),
    ...(trust.cluster.length > 0
      ? [
          'roots for cluster hosts:',
          ...trust.cluster.map(
            (source) =>
              `  ${source.error !== undefined ? '⚠' : '·'} ${describeTrustSource(source)}`,
          ),
        ]
      : []),
  ];
}

/**
 * The operator's view: a table per phase (✓ ok / ⚠ warn / ✗ FAIL / ⊘ blocked / – skipped),
 * each problem followed by its diagnosis, why the host is needed, the fix and the rule.
 */
export function renderHuman(report: DoctorReport): string {
  const lines: string[] = [];
  lines.push(
    `skiff doctor · plan ${report.plan.name} (v${report.plan.schemaVersion}) · resolvers ${report.resolvers.join(', ') || '-'} · timeout ${report.timeoutMs} ms`,
    ...trustLines(report.trust),
  );
  const all = report.phases.flatMap((phase) => phase.checks);
  const subjectWidth = Math.max(8, ...all.map((result) => result.subject.length));
  const kindWidth = Math.max(4, ...all.map((result) => result.kind.length));
  const targetWidth = Math.max(10, ...all.map((result) => target(result).length));
  for (const phase of report.phases) {
    lines.push('', `Phase ${phase.phase} — ${phase.title}`);
    const shownWhy = new Set<string>();
    for (const result of phase.checks) {
      lines.push(
        `  ${marks[result.status]}  ${pad(result.subject, subjectWidth)}  ${pad(result.kind, kindWidth)}  ${pad(target(result), targetWidth)}  ${result.detail}`,
      );
      for (const diagnosis of report.diagnoses.filter((d) => d.checkId === result.id)) {
        // "why" once per host: its checks share it.
        const why = shownWhy.has(result.subject) ? undefined : result.why;
        shownWhy.add(result.subject);
        lines.push(...diagnosisLines(diagnosis, why));
      }
    }
  }
  const unchecked = report.unchecked;
  if (unchecked.length > 0) {
    lines.push('', 'Not checked:');
    for (const entry of unchecked)
      lines.push(`  – ${entry.id} (phase ${entry.phase}): ${entry.reason}`);
  }
  const { pass, warn, fail, blocked, skipped, exitCode } = report.summary;
  lines.push(
    '',
    `${fail > 0 ? '✗' : warn > 0 ? '⚠' : '✓'} ${pass} ok, ${warn} warning(s), ${fail} failed, ${blocked} blocked, ${skipped} skipped in ${report.durationMs} ms — exit ${exitCode}`,
  );
  return `${lines.join('\n')}\n`;
}
