import { describe, expect, it } from 'vitest';
import { Autoscaler, type AutoscalePolicy } from './index.js';
import { resolvePolicy, scaleDownWindowPeriods } from './policy.js';

const policy: AutoscalePolicy = {
  minReplicas: 1,
  maxReplicas: 10,
  targetUtilizationPercent: 70,
  maxConcurrentPerReplica: 1,
  refreshPeriodSeconds: 1,
};

describe('autoscale policy', () => {
  it('waits 60 s before scaling down unless told otherwise', () => {
    expect(new Autoscaler(policy).policy.scaleDownDelaySeconds).toBe(60);
    expect(
      new Autoscaler({ ...policy, scaleDownDelaySeconds: 5 }).policy.scaleDownDelaySeconds,
    ).toBe(5);
  });

  it.each<[string, Partial<AutoscalePolicy>]>([
    ['minReplicas', { minReplicas: -1 }],
    ['minReplicas', { minReplicas: 1.5 }],
    ['maxReplicas', { maxReplicas: 0 }],
    ['targetUtilizationPercent', { targetUtilizationPercent: 0 }],
    ['targetUtilizationPercent', { targetUtilizationPercent: 101 }],
    ['maxConcurrentPerReplica', { maxConcurrentPerReplica: 0 }],
    ['maxConcurrentPerReplica', { maxConcurrentPerReplica: 2.5 }],
    ['refreshPeriodSeconds', { refreshPeriodSeconds: 0 }],
    ['refreshPeriodSeconds', { refreshPeriodSeconds: Infinity }],
    ['scaleDownDelaySeconds', { scaleDownDelaySeconds: -60 }],
  ])('rejects a bad %s with a RangeError naming it', (field, override) => {
    expect(() => new Autoscaler({ ...policy, ...override })).toThrow(
      new RegExp(`^${field} must be`),
    );
    expect(() => new Autoscaler({ ...policy, ...override })).toThrow(RangeError);
  });

  it('rejects minReplicas above maxReplicas, naming both', () => {
    expect(() => new Autoscaler({ ...policy, minReplicas: 5, maxReplicas: 4 })).toThrow(
      'minReplicas (5) must not exceed maxReplicas (4)',
    );
  });

  it('accepts min equal to max, and zero minReplicas', () => {
    expect(new Autoscaler({ ...policy, minReplicas: 4, maxReplicas: 4 }).policy.maxReplicas).toBe(
      4,
    );
    expect(new Autoscaler({ ...policy, minReplicas: 0 }).policy.minReplicas).toBe(0);
  });

  it('rejects a window of absurdly many refresh periods', () => {
    expect(
      () => new Autoscaler({ ...policy, refreshPeriodSeconds: 0.001, scaleDownDelaySeconds: 3600 }),
    ).toThrow(/^scaleDownDelaySeconds \(3600\) must span at most/);
  });

  it('covers the whole delay with refresh periods, counted exactly', () => {
    expect(scaleDownWindowPeriods(resolvePolicy(policy))).toBe(60);
    expect(scaleDownWindowPeriods(resolvePolicy({ ...policy, scaleDownDelaySeconds: 2.5 }))).toBe(
      3,
    );
    // 1.1 / 0.1 is 11.000000000000002 in doubles.
    expect(
      scaleDownWindowPeriods(
        resolvePolicy({ ...policy, refreshPeriodSeconds: 0.1, scaleDownDelaySeconds: 1.1 }),
      ),
    ).toBe(11);
  });
});
