import { describe, expect, it } from 'vitest';
import { DemandHistory, type PeriodDemand } from './demand-history.js';

function sample(at: number, inFlight: number) {
  return { at, inFlight, queued: 0, readyReplicas: 1 };
}

/** Average demand per period, newest first; undefined where unknown. */
function averages(periods: (PeriodDemand | undefined)[]): (number | undefined)[] {
  return periods.map((p) =>
    p === undefined
      ? undefined
      : Number(`${p.demandSum.coefficient}e${p.demandSum.exponent}`) / p.count,
  );
}

describe('DemandHistory', () => {
  it('keeps only the retention span before the newest sample', () => {
    const history = new DemandHistory(10_000);
    for (let at = 0; at <= 1_000_000; at += 100) history.add(sample(at, 1));
    expect(history.size).toBe(101); // 990_000 … 1_000_000
    expect(history.newestAtOrBefore(Infinity)).toBe(1_000_000);
  });

  it('orders samples that arrive out of order', () => {
    const history = new DemandHistory(60_000);
    history.add(sample(3000, 3));
    history.add(sample(1000, 1));
    history.add(sample(2000, 2));
    expect(averages(history.periods(3000, 3, 1000, 0))).toEqual([3, 2, 1]);
    expect(history.newestAtOrBefore(2500)).toBe(2000);
  });

  it('averages the samples of each period, periods ending at now', () => {
    const history = new DemandHistory(60_000);
    for (const [at, demand] of [
      [100, 1],
      [900, 3],
      [1000, 5],
      [1500, 9],
    ] as const) {
      history.add(sample(at, demand));
    }
    // (500, 1500] holds 900, 1000 and 1500; (-500, 500] holds 100.
    expect(averages(history.periods(1500, 2, 1000, 0))).toEqual([17 / 3, 1]);
  });

  it('lets a sample describe the periods after it for as long as it is valid, then not', () => {
    const history = new DemandHistory(60_000);
    history.add(sample(1000, 4));
    history.add(sample(5000, 8));
    // Periods end at 5000, 4000, 3000, 2000, 1000; 1000 is valid until 3000.
    const periods = history.periods(5000, 5, 1000, 2000);
    expect(averages(periods)).toEqual([8, undefined, 4, 4, 4]);
    expect(periods.map((p) => p?.carried)).toEqual([false, undefined, true, true, false]);
  });

  it('ignores samples after now', () => {
    const history = new DemandHistory(60_000);
    history.add(sample(1000, 1));
    history.add(sample(2000, 50));
    expect(averages(history.periods(1999, 1, 1000, 3000))).toEqual([1]);
    expect(history.newestAtOrBefore(999)).toBeUndefined();
  });
});
