import type { Check, CheckOutcome, CheckResult } from './model.js';

/** How {@link runChecks} runs. */
export interface RunnerOptions {
  /** Per-check timeout in ms. */
  readonly timeoutMs: number;
  /** Monotonic milliseconds; default `performance.now`. */
  readonly now?: () => number;
  /** Called as each phase finishes (continuous mode and progress output). */
  readonly onPhase?: (phase: number, results: readonly CheckResult[]) => void;
}

// A check that ignores its abort signal still ends: the runner stops waiting this long after
// the timeout and records a timeout itself.
const HARD_STOP_GRACE_MS = 250;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function runOne(
  check: Check,
  prerequisites: Map<string, CheckResult>,
  options: RunnerOptions,
  now: () => number,
): Promise<CheckResult> {
  const base = {
    id: check.id,
    kind: check.kind,
    phase: check.phase,
    subject: check.subject,
    required: check.required,
    why: check.why,
    ...(check.host !== undefined ? { host: check.host } : {}),
    ...(check.port !== undefined ? { port: check.port } : {}),
  };
  for (const id of check.prerequisites) {
    const before = prerequisites.get(id);
    if (
      before === undefined ||
      before.status === 'fail' ||
      before.status === 'blocked' ||
      before.status === 'skipped'
    ) {
      // Report the root cause, not the chain: tls blocked by a failed tcp, not by a blocked one.
      const root =
        before?.status === 'blocked' && before.blockedBy !== undefined ? before.blockedBy : id;
      return {
        ...base,
        status: 'blocked',
        detail: `blocked by ${root}`,
        durationMs: 0,
        blockedBy: root,
      };
    }
  }
  const controller = new AbortController();
  const started = now();
  let hardStop: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => controller.abort(new Error('timeout')), options.timeoutMs);
  try {
    const outcome = await Promise.race<CheckOutcome>([
      check.run({
        signal: controller.signal,
        timeoutMs: options.timeoutMs,
        now,
        prerequisite: (id) => {
          const result = prerequisites.get(id);
          if (result === undefined)
            throw new Error(`${check.id} asked for ${id}, which is not its prerequisite`);
          return result;
        },
      }),
      new Promise<CheckOutcome>((resolve) => {
        hardStop = setTimeout(
          () =>
            resolve({
              status: 'fail',
              detail: `no result after ${options.timeoutMs} ms (timed out)`,
            }),
          options.timeoutMs + HARD_STOP_GRACE_MS,
        );
      }),
    ]);
    return { ...base, ...outcome, durationMs: Math.round(now() - started) };
  } catch (error) {
    return {
      ...base,
      status: 'fail',
      detail: errorText(error),
      durationMs: Math.round(now() - started),
    };
  } finally {
    clearTimeout(timer);
    if (hardStop !== undefined) clearTimeout(hardStop);
    controller.abort();
  }
}

/**
 * Runs checks phase by phase in chronological order. Within a phase every check starts at
 * once and waits only for its own prerequisites, so a phase takes about one timeout however
 * many hosts blackhole. A check whose prerequisite failed (or was blocked/skipped) is
 * `blocked` by the root cause and does not run.
 */
export async function runChecks(
  checks: readonly Check[],
  options: RunnerOptions,
): Promise<CheckResult[]> {
  const now = options.now ?? (() => performance.now());
  const ids = new Set<string>();
  for (const check of checks) {
    if (ids.has(check.id)) throw new Error(`duplicate check id ${check.id}`);
    ids.add(check.id);
  }
  const byId = new Map(checks.map((check) => [check.id, check]));
  for (const check of checks) {
    for (const id of check.prerequisites) {
      const prerequisite = byId.get(id);
      if (prerequisite === undefined) throw new Error(`${check.id}: unknown prerequisite ${id}`);
      if (prerequisite.phase > check.phase)
        throw new Error(`${check.id}: prerequisite ${id} runs in a later phase`);
    }
  }
  const finished = new Map<string, Promise<CheckResult>>();
  const results: CheckResult[] = [];
  const phases = [...new Set(checks.map((check) => check.phase))].sort((a, b) => a - b);
  for (const phase of phases) {
    const inPhase = checks.filter((check) => check.phase === phase);
    const start = (check: Check): Promise<CheckResult> => {
      const existing = finished.get(check.id);
      if (existing !== undefined) return existing;
      const promise = (async () => {
        const before = new Map<string, CheckResult>();
        for (const id of check.prerequisites) {
          const prerequisite = byId.get(id);
          if (prerequisite !== undefined) before.set(id, await start(prerequisite));
        }
        return runOne(check, before, options, now);
      })();
      finished.set(check.id, promise);
      return promise;
    };
    const phaseResults = await Promise.all(inPhase.map(start));
    results.push(...phaseResults);
    options.onPhase?.(phase, phaseResults);
  }
  return results;
}
