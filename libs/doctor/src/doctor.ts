import { buildChecks, type CheckEnvironment } from './checks/build.js';
import type { CheckResult } from './checks/model.js';
import { runChecks } from './checks/runner.js';
import { diagnose } from './diagnoses/index.js';
import type { RenderedPlan } from './plan/render.js';
import {
  finalizeResults,
  phaseTitles,
  REPORT_SCHEMA,
  summarize,
  type DoctorReport,
} from './report/model.js';

/** Default per-check timeout (ms). */
export const DEFAULT_TIMEOUT_MS = 5_000;
/** Default threshold (ms) above which a DNS answer is reported as slow. */
export const DEFAULT_SLOW_DNS_MS = 2_000;

/** One doctor run: a rendered plan, the environment to check it in, and limits. */
export interface DoctorRunOptions extends CheckEnvironment {
  readonly plan: RenderedPlan;
  /** Per-check timeout in ms; default {@link DEFAULT_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Slow-DNS threshold in ms; default {@link DEFAULT_SLOW_DNS_MS}. */
  readonly slowDnsMs?: number;
  /** Run phases 1..upToPhase only; default all five. */
  readonly upToPhase?: number;
  /** Monotonic milliseconds; default `performance.now`. */
  readonly now?: () => number;
  /** Wall clock for the report's `startedAt`; default `new Date()`. */
  readonly wallClock?: () => Date;
  /** Called after each phase with its raw results (progress output). */
  readonly onPhase?: (phase: number, results: readonly CheckResult[]) => void;
}

/** Runs the plan phase by phase, diagnoses the results and returns the report. */
export async function runDoctor(options: DoctorRunOptions): Promise<DoctorReport> {
  const now = options.now ?? (() => performance.now());
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const slowDnsMs = options.slowDnsMs ?? DEFAULT_SLOW_DNS_MS;
  const startedAt = (options.wallClock ?? (() => new Date()))();
  const started = now();
  const upTo = options.upToPhase ?? 5;
  const checks = buildChecks(options.plan, options).filter((check) => check.phase <= upTo);
  const raw = await runChecks(checks, {
    timeoutMs,
    now,
    ...(options.onPhase !== undefined ? { onPhase: options.onPhase } : {}),
  });
  const dataEndpointOf = new Map(
    options.plan.hosts.flatMap((host) =>
      host.dataEndpointOf !== undefined ? [[host.id, host.dataEndpointOf] as const] : [],
    ),
  );
  const resolvers = options.resolvers.map((resolver) => resolver.label);
  const { results, diagnoses } = finalizeResults(
    raw,
    diagnose(raw, {
      slowDnsMs,
      resolvers,
      dataEndpointOf,
      ...(options.trust.report !== undefined ? { trustMode: options.trust.report.mode } : {}),
    }),
  );
  const phaseNumbers = [...new Set(results.map((result) => result.phase))].sort((a, b) => a - b);
  return {
    schema: REPORT_SCHEMA,
    plan: { name: options.plan.name, schemaVersion: options.plan.schemaVersion },
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(now() - started),
    timeoutMs,
    slowDnsMs,
    resolvers,
    ...(options.trust.report !== undefined ? { trust: options.trust.report } : {}),
    phases: phaseNumbers.map((phase) => ({
      phase,
      title: phaseTitles[phase] ?? `Phase ${phase}`,
      checks: results.filter((result) => result.phase === phase),
    })),
    diagnoses,
    unchecked: options.plan.unchecked.filter((entry) => entry.phase <= upTo),
    summary: summarize(results),
  };
}
