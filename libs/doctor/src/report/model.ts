import type { CheckResult, CheckStatus } from '../checks/model.js';
import type { TrustReport } from '../checks/trust-store.js';
import type { Diagnosis } from '../diagnoses/model.js';
import type { UncheckedEntry } from '../plan/render.js';

/** The `schema` value of every JSON report this version writes (docs/doctor.md). */
export const REPORT_SCHEMA = 'skiff.dev/doctor-report/v1';

/** The five moments of a deployment (SPEC.md §6), by phase number. */
export const phaseTitles: Readonly<Record<number, string>> = {
  1: 'Cluster created or attached, router being deployed',
  2: 'Router starting',
  3: 'Router running',
  4: 'Model deployment',
  5: 'After deployment',
};

/** One phase's checks, in plan order. */
export interface PhaseReport {
  readonly phase: number;
  readonly title: string;
  readonly checks: readonly CheckResult[];
}

/** Counts by final status, and the exit code they imply. */
export interface ReportSummary {
  readonly pass: number;
  readonly warn: number;
  readonly fail: number;
  readonly blocked: number;
  readonly skipped: number;
  /** 0: every required check passed (warnings allowed); 1: a required check failed. */
  readonly exitCode: 0 | 1;
}

/** A full doctor run; serialised as-is by the JSON reporter. */
export interface DoctorReport {
  readonly schema: typeof REPORT_SCHEMA;
  readonly plan: { readonly name: string; readonly schemaVersion: number };
  /** ISO 8601. */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly timeoutMs: number;
  readonly slowDnsMs: number;
  /** Resolver labels, in the order asked. */
  readonly resolvers: readonly string[];
  /** The roots TLS checks verified against (`--trust` mode and every source). */
  readonly trust?: TrustReport;
  readonly phases: readonly PhaseReport[];
  readonly diagnoses: readonly Diagnosis[];
  /** Plan entries not checked in this run, and why. */
  readonly unchecked: readonly UncheckedEntry[];
  readonly summary: ReportSummary;
}

const rank: Readonly<Record<CheckStatus, number>> = {
  pass: 0,
  skipped: 0,
  blocked: 0,
  warn: 1,
  fail: 2,
};

/**
 * Applies diagnoses to check statuses (a passing check with a warning becomes `warn`) and
 * turns failures of optional checks into warnings.
 */
export function finalizeResults(
  results: readonly CheckResult[],
  diagnoses: readonly Diagnosis[],
): { results: CheckResult[]; diagnoses: Diagnosis[] } {
  const optional = new Set(results.filter((result) => !result.required).map((result) => result.id));
  const adjusted = diagnoses.map((diagnosis) =>
    optional.has(diagnosis.checkId) && diagnosis.severity === 'fail'
      ? { ...diagnosis, severity: 'warn' as const }
      : diagnosis,
  );
  const final = results.map((result): CheckResult => {
    if (result.status === 'blocked' || result.status === 'skipped') return result;
    let status: CheckStatus = result.status;
    for (const diagnosis of adjusted) {
      if (diagnosis.checkId === result.id && rank[diagnosis.severity] > rank[status])
        status = diagnosis.severity;
    }
    if (!result.required && status === 'fail') status = 'warn';
    return status === result.status ? result : { ...result, status };
  });
  return { results: final, diagnoses: adjusted };
}

/** Counts final statuses; exit 1 when a required check failed. */
export function summarize(results: readonly CheckResult[]): ReportSummary {
  const count = (status: CheckStatus) =>
    results.filter((result) => result.status === status).length;
  const fail = count('fail');
  return {
    pass: count('pass'),
    warn: count('warn'),
    fail,
    blocked: count('blocked'),
    skipped: count('skipped'),
    exitCode: fail > 0 ? 1 : 0,
  };
}
