import { addExact, exactDecimal, type ExactDecimal } from './exact.js';
import { requireCount, requireNumber } from './validate.js';

/** One observation of a service's demand, as agents and routers report it. */
export interface DemandSample {
  /** When the counts were taken, in ms on the same clock as `decide(now)` (e.g. `Date.now()`). */
  readonly at: number;
  /** Requests being scored by the service's replicas; finite, ≥ 0 (k of c slots count as k). */
  readonly inFlight: number;
  /** Requests waiting in the routers for a free replica slot; finite, ≥ 0. */
  readonly queued: number;
  /** Replicas that passed readiness and serve requests; an integer ≥ 0. */
  readonly readyReplicas: number;
}

/** The samples of one refresh period, or the period a sample still describes. */
export interface PeriodDemand {
  /** Sum of `inFlight + queued` over the samples, exactly. */
  readonly demandSum: ExactDecimal;
  /** Sum of `readyReplicas` over the samples. */
  readonly readySum: number;
  /** How many samples were summed. */
  readonly count: number;
  /** Time of the newest of them. */
  readonly newestAt: number;
  /** True when the period had no samples of its own and this is an earlier period's demand. */
  readonly carried: boolean;
}

interface StoredSample {
  readonly at: number;
  readonly demand: ExactDecimal;
  readonly readyReplicas: number;
}

/** Validates a sample, naming the field that is out of range. */
export function checkSample(sample: DemandSample): void {
  requireNumber('sample.at', sample.at, -Infinity);
  requireNumber('sample.inFlight', sample.inFlight, 0);
  requireNumber('sample.queued', sample.queued, 0);
  requireCount('sample.readyReplicas', sample.readyReplicas, 0);
}

/**
 * The recent samples of one service, in time order, holding only the last `retainMs` before
 * the newest sample so memory stays bounded however long the service runs.
 */
export class DemandHistory {
  readonly #retainMs: number;
  readonly #samples: StoredSample[] = [];

  /** @param retainMs how far before the newest sample to keep samples. */
  constructor(retainMs: number) {
    this.#retainMs = retainMs;
  }

  /** How many samples are held. */
  get size(): number {
    return this.#samples.length;
  }

  /** Time of the newest sample at or before `now`, if any. */
  newestAtOrBefore(now: number): number | undefined {
    const index = this.#lastIndexAtOrBefore(now);
    return index < 0 ? undefined : this.#samples[index]?.at;
  }

  /** Adds a sample; samples may arrive out of order (several reporters, network delays). */
  add(sample: DemandSample): void {
    const stored: StoredSample = {
      at: sample.at,
      demand: addExact(exactDecimal(sample.inFlight), exactDecimal(sample.queued)),
      readyReplicas: sample.readyReplicas,
    };
    this.#samples.splice(this.#lastIndexAtOrBefore(sample.at) + 1, 0, stored);
    const newest = this.#samples[this.#samples.length - 1];
    if (newest === undefined) return;
    const keepFrom = newest.at - this.#retainMs;
    let drop = 0;
    while ((this.#samples[drop]?.at ?? Infinity) < keepFrom) drop++;
    if (drop > 0) this.#samples.splice(0, drop);
  }

  /**
   * Demand in the `count` refresh periods that end at `now`, newest first: period `i` covers
   * `(now − (i+1)·periodMs, now − i·periodMs]`. A period without samples of its own carries the
   * nearest earlier period's demand while that period's newest sample is at most `validForMs`
   * older than the empty period's end; otherwise it is `undefined` (demand unknown). Samples
   * after `now` are ignored.
   */
  periods(
    now: number,
    count: number,
    periodMs: number,
    validForMs: number,
  ): (PeriodDemand | undefined)[] {
    // Look further back than the window, so its oldest periods can carry an earlier sample.
    const total = count + Math.ceil(validForMs / periodMs);
    const own: (PeriodDemand | undefined)[] = [];
    let next = this.#lastIndexAtOrBefore(now);
    for (let i = 0; i < total; i++) {
      const start = now - (i + 1) * periodMs;
      let period: PeriodDemand | undefined;
      for (
        let s = this.#samples[next];
        s !== undefined && s.at > start;
        s = this.#samples[--next]
      ) {
        period =
          period === undefined
            ? {
                demandSum: s.demand,
                readySum: s.readyReplicas,
                count: 1,
                newestAt: s.at,
                carried: false,
              }
            : {
                ...period,
                demandSum: addExact(period.demandSum, s.demand),
                readySum: period.readySum + s.readyReplicas,
                count: period.count + 1,
              };
      }
      own.push(period);
    }

    const result: (PeriodDemand | undefined)[] = new Array<PeriodDemand | undefined>(count);
    let latest: PeriodDemand | undefined;
    for (let i = total - 1; i >= 0; i--) {
      const period = own[i];
      if (period !== undefined) latest = period;
      if (i >= count) continue;
      const end = now - i * periodMs;
      result[i] =
        period ??
        (latest !== undefined && latest.newestAt >= end - validForMs
          ? { ...latest, carried: true }
          : undefined);
    }
    return result;
  }

  #lastIndexAtOrBefore(at: number): number {
    let low = 0;
    let high = this.#samples.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#samples[middle]?.at ?? Infinity) <= at) low = middle + 1;
      else high = middle;
    }
    return low - 1;
  }
}
