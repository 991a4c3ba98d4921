import { ceilQuotient, exactDecimal, multiplyExact, type ExactDecimal } from './exact.js';
import {
  checkSample,
  DemandHistory,
  type DemandSample,
  type PeriodDemand,
} from './demand-history.js';
import {
  resolvePolicy,
  SAMPLE_VALID_PERIODS,
  scaleDownWindowPeriods,
  type AutoscalePolicy,
  type ResolvedAutoscalePolicy,
} from './policy.js';
import { requireCount, requireNumber } from './validate.js';
import { formatAmount, formatSeconds, replicaCount } from './wording.js';

/**
 * What a decision does, for machines (metrics, tests, the CLI's colouring):
 * - `up`: more replicas, because demand exceeds the target utilization now;
 * - `down`: fewer replicas, because demand stayed lower for the whole scale-down delay;
 * - `hold`: the current count stays;
 * - `clamp`: the count changes only to bring it into [minReplicas, maxReplicas];
 * - `no-data`: no demand sample yet, the current count stays;
 * - `stale`: the newest sample is older than 3 refresh periods, the current count stays.
 */
export type ScaleDecisionKind = 'up' | 'down' | 'hold' | 'clamp' | 'no-data' | 'stale';

/** The replica count a service should have now, and why. */
export interface ScaleDecision {
  /** Replicas to run, always within [minReplicas, maxReplicas]. */
  readonly replicas: number;
  /** What the decision does; see {@link ScaleDecisionKind}. */
  readonly kind: ScaleDecisionKind;
  /** One sentence for people, e.g. "demand 12.4 in-flight+queued over the last 1s … scaling up from 10 to 18". */
  readonly reason: string;
}

/** What demand alone says, before the current count's bounds are applied. */
interface DemandVerdict {
  readonly kind: Exclude<ScaleDecisionKind, 'clamp'>;
  readonly replicas: number;
  /** Why, without the action; the action is worded once the bounds are known. */
  readonly because: string;
}

/**
 * The scale decision engine for one service (SPEC §4). Feed it demand samples with
 * {@link Autoscaler.observe} and ask {@link Autoscaler.decide} once per refresh period. Pure:
 * time is whatever the caller passes, nothing is read from a clock.
 *
 * Demand is averaged per refresh period and turned into wanted replicas:
 * `wanted = ceil(average(inFlight + queued) / (maxConcurrentPerReplica × target%))`.
 * - Up, eagerly: when the newest period wants more than the current count, scale to it
 *   (at most maxReplicas) at once.
 * - Down, conservatively: only when every refresh period of the last scaleDownDelaySeconds is
 *   known and wanted fewer than the current count; then scale to the largest of them (at least
 *   minReplicas).
 * - A sample describes demand until the next one, for at most 3 refresh periods. A period with
 *   no sample describing it is unknown, and an unknown period blocks scale-down; so a fresh
 *   autoscaler, or one after a reporting gap, first observes a full window before scaling down.
 * - No sample, or a newest sample older than 3 refresh periods: keep the current count.
 * - The result is always within [minReplicas, maxReplicas].
 */
export class Autoscaler {
  /** The validated policy, with defaults filled in. */
  readonly policy: ResolvedAutoscalePolicy;
  readonly #periodMs: number;
  readonly #windowPeriods: number;
  readonly #validForMs: number;
  readonly #capacityPerReplica: ExactDecimal;
  readonly #history: DemandHistory;

  /** @throws RangeError naming the policy field that is out of range. */
  constructor(policy: AutoscalePolicy) {
    this.policy = resolvePolicy(policy);
    this.#periodMs = this.policy.refreshPeriodSeconds * 1000;
    this.#windowPeriods = scaleDownWindowPeriods(this.policy);
    this.#validForMs = SAMPLE_VALID_PERIODS * this.#periodMs;
    // Slots per replica × target percent; the 1/100 is applied to the numerator instead.
    this.#capacityPerReplica = multiplyExact(
      exactDecimal(this.policy.maxConcurrentPerReplica),
      exactDecimal(this.policy.targetUtilizationPercent),
    );
    this.#history = new DemandHistory(
      (this.#windowPeriods + SAMPLE_VALID_PERIODS + 1) * this.#periodMs,
    );
  }

  /**
   * Records one demand sample. Samples may arrive out of order; those older than the scale-down
   * window (plus the 3 periods a sample stays valid) are dropped.
   * @throws RangeError naming the sample field that is out of range.
   */
  observe(sample: DemandSample): void {
    checkSample(sample);
    this.#history.add(sample);
  }

  /**
   * The replica count to run at time `now` (ms, same clock as the samples), given the count
   * running now. Samples taken after `now` are not considered.
   * @throws RangeError when `now` is not finite or `current.replicas` is not an integer ≥ 0.
   */
  decide(now: number, current: { readonly replicas: number }): ScaleDecision {
    requireNumber('now', now, -Infinity);
    const running = requireCount('current.replicas', current.replicas, 0);
    const { minReplicas, maxReplicas } = this.policy;
    const bounded = Math.min(maxReplicas, Math.max(minReplicas, running));
    const verdict = this.#judgeDemand(now, bounded);

    const outOfBounds =
      running < minReplicas
        ? `below minReplicas ${minReplicas}`
        : running > maxReplicas
          ? `above maxReplicas ${maxReplicas}`
          : undefined;
    if (verdict.kind === 'up' || verdict.kind === 'down') {
      const from = outOfBounds === undefined ? `${running}` : `${running} (${outOfBounds})`;
      return {
        replicas: verdict.replicas,
        kind: verdict.kind,
        reason: `${verdict.because}, scaling ${verdict.kind} from ${from} to ${verdict.replicas}`,
      };
    }
    if (outOfBounds !== undefined) {
      return {
        replicas: bounded,
        kind: 'clamp',
        reason: `${verdict.because}; setting ${replicaCount(bounded)} because the current ${running} is ${outOfBounds}`,
      };
    }
    return {
      replicas: bounded,
      kind: verdict.kind,
      reason: `${verdict.because}; keeping ${replicaCount(bounded)}`,
    };
  }

  #judgeDemand(now: number, current: number): DemandVerdict {
    const newestAt = this.#history.newestAtOrBefore(now);
    if (newestAt === undefined) {
      return { kind: 'no-data', replicas: current, because: 'no demand samples observed yet' };
    }
    const age = now - newestAt;
    if (age > this.#validForMs) {
      return {
        kind: 'stale',
        replicas: current,
        because: `the newest demand sample is ${formatSeconds(age)} old, older than ${SAMPLE_VALID_PERIODS} refresh periods (${formatSeconds(this.#validForMs)})`,
      };
    }

    const periods = this.#history.periods(
      now,
      this.#windowPeriods,
      this.#periodMs,
      this.#validForMs,
    );
    const latest = periods[0];
    // Not stale, so the newest sample describes the current period.
    if (latest === undefined)
      throw new Error('autoscale: current period unknown although data is fresh');
    const wantedNow = this.#wanted(latest);
    const { minReplicas, maxReplicas, targetUtilizationPercent } = this.policy;
    const demand = `${this.#describeDemand(now, latest)} wants ${replicaCount(wantedNow)} (target ${formatAmount(targetUtilizationPercent)}%)`;

    if (wantedNow > current) {
      if (current >= maxReplicas) {
        return {
          kind: 'hold',
          replicas: current,
          because: `${demand}, capped at maxReplicas ${maxReplicas}`,
        };
      }
      return { kind: 'up', replicas: Math.min(maxReplicas, wantedNow), because: demand };
    }
    if (wantedNow === current) return { kind: 'hold', replicas: current, because: demand };
    if (current <= minReplicas) {
      return {
        kind: 'hold',
        replicas: current,
        because: `${demand}, fewer than minReplicas ${minReplicas}`,
      };
    }

    // Down only if every period of the window is known and wanted fewer than `current`.
    let largest = 0;
    for (const [index, period] of periods.entries()) {
      const ago = formatSeconds(index * this.#periodMs);
      const delay = formatSeconds(this.policy.scaleDownDelaySeconds * 1000);
      if (period === undefined) {
        return {
          kind: 'hold',
          replicas: current,
          because: `${demand}, but scaling down needs ${delay} of demand samples and none describes ${ago} ago`,
        };
      }
      const wanted = this.#wanted(period);
      if (wanted >= current) {
        return {
          kind: 'hold',
          replicas: current,
          because: `${demand}, but ${replicaCount(wanted)} were wanted ${ago} ago and scaling down waits for ${delay} of lower demand`,
        };
      }
      largest = Math.max(largest, wanted);
    }
    const target = Math.max(minReplicas, largest);
    const floor = target > largest ? `; minReplicas is ${minReplicas}` : '';
    return {
      kind: 'down',
      replicas: target,
      because: `${demand}, and every period of the last ${formatSeconds(this.policy.scaleDownDelaySeconds * 1000)} wanted fewer than ${current} (at most ${largest}${floor})`,
    };
  }

  #wanted(period: PeriodDemand): number {
    return Number(
      ceilQuotient(
        multiplyExact(period.demandSum, exactDecimal(100)),
        multiplyExact(this.#capacityPerReplica, exactDecimal(period.count)),
      ),
    );
  }

  #describeDemand(now: number, period: PeriodDemand): string {
    // Parsing the decimal text is exact where `coefficient × 10 ** exponent` would round twice.
    const demand =
      Number(`${period.demandSum.coefficient}e${period.demandSum.exponent}`) / period.count;
    const ready = period.readySum / period.count;
    const share =
      ready === 0
        ? 'no ready replicas'
        : `utilization ${formatAmount((100 * demand) / (ready * this.policy.maxConcurrentPerReplica))}% of ${formatAmount(ready)} ready`;
    const when = period.carried
      ? `in the newest samples (${formatSeconds(now - period.newestAt)} ago)`
      : `over the last ${formatSeconds(this.#periodMs)}`;
    return `demand ${formatAmount(demand)} in-flight+queued ${when} (${share})`;
  }
}
