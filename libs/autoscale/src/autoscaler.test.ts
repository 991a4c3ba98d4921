import { describe, expect, it } from 'vitest';
import { Autoscaler, requiredReplicas, type AutoscalePolicy } from './index.js';
import { simulate, steady } from './test-support/simulate.js';

const policy: AutoscalePolicy = {
  minReplicas: 1,
  maxReplicas: 20,
  targetUtilizationPercent: 70,
  maxConcurrentPerReplica: 1,
  refreshPeriodSeconds: 1,
};

function sample(at: number, inFlight: number, queued = 0, readyReplicas = 1) {
  return { at, inFlight, queued, readyReplicas };
}

describe('Autoscaler', () => {
  it('sizes the SPEC example like the planning formula: 200 busy slots at 70% want 286 replicas', () => {
    const autoscaler = new Autoscaler({ ...policy, maxReplicas: 1000 });
    // 20 rps × 10 s keeps 200 requests in flight; replicas are still starting, so most queue.
    autoscaler.observe(sample(0, 10, 190, 10));
    const decision = autoscaler.decide(0, { replicas: 10 });
    expect(decision).toEqual({
      kind: 'up',
      replicas: 286,
      reason:
        'demand 200 in-flight+queued over the last 1s (utilization 2000% of 10 ready) wants 286 replicas (target 70%), scaling up from 10 to 286',
    });
    expect(decision.replicas).toBe(
      requiredReplicas({
        targetRps: 20,
        requestSeconds: 10,
        targetUtilizationPercent: 70,
        maxConcurrentPerReplica: 1,
      }),
    );
  });

  it('scales up at the first decision, to the exact ceiling (14 at 70% is 20, not 21)', () => {
    const autoscaler = new Autoscaler(policy);
    autoscaler.observe(sample(0, 14, 0, 2));
    expect(autoscaler.decide(0, { replicas: 2 })).toMatchObject({ kind: 'up', replicas: 20 });
  });

  it('averages the samples of the last refresh period', () => {
    const autoscaler = new Autoscaler(policy);
    autoscaler.observe(sample(100, 2));
    autoscaler.observe(sample(600, 12)); // average 7 over (0, 1000] → 10 replicas at 70%
    autoscaler.observe(sample(-50, 100)); // an earlier period: does not count towards now
    expect(autoscaler.decide(1000, { replicas: 1 })).toMatchObject({ kind: 'up', replicas: 10 });
  });

  it('divides demand by the slots per replica', () => {
    const autoscaler = new Autoscaler({
      ...policy,
      maxConcurrentPerReplica: 4,
      targetUtilizationPercent: 50,
    });
    autoscaler.observe(sample(0, 10, 0, 1)); // 10 / (4 × 0.5) = 5
    expect(autoscaler.decide(0, { replicas: 1 })).toMatchObject({ kind: 'up', replicas: 5 });
  });

  describe('after a burst', () => {
    // 14 in flight wants 20 replicas for 6 s, then nothing; one sample and one decision a second.
    const trace = [...steady(-5000, 0, 14), ...steady(1000, 61_000, 0)];
    const steps = simulate(policy, trace, 1);
    const at = (ms: number) => steps.find((step) => step.at === ms);

    it('scales up at once', () => {
      expect(at(-5000)).toMatchObject({ kind: 'up', replicas: 20 });
    });

    it('does not scale down after 59 s of quiet', () => {
      expect(
        steps
          .filter((step) => step.at > -5000 && step.at <= 59_000)
          .every((s) => s.kind === 'hold' && s.replicas === 20),
      ).toBe(true);
      expect(at(59_000)?.reason).toBe(
        'demand 0 in-flight+queued over the last 1s (utilization 0% of 20 ready) wants 0 replicas (target 70%), but 20 replicas were wanted 59s ago and scaling down waits for 60s of lower demand; keeping 20 replicas',
      );
    });

    it('scales down to minReplicas once the last 60 s were all quiet', () => {
      // At 60 s the burst's last sample (at 0) has just left the window (60 s, 0 s].
      expect(at(60_000)).toMatchObject({ kind: 'down', replicas: 1 });
      expect(at(60_000)?.reason).toBe(
        'demand 0 in-flight+queued over the last 1s (utilization 0% of 20 ready) wants 0 replicas (target 70%), and every period of the last 60s wanted fewer than 20 (at most 0; minReplicas is 1), scaling down from 20 to 1',
      );
      expect(at(61_000)).toMatchObject({ kind: 'hold', replicas: 1 });
    });
  });

  it('decided fresh at 61 s of quiet (no decision in between), scales down', () => {
    const autoscaler = new Autoscaler(policy);
    for (const point of [...steady(-5000, 0, 14), ...steady(1000, 61_000, 0)])
      autoscaler.observe(sample(point.at, point.inFlight));
    expect(autoscaler.decide(59_000, { replicas: 20 })).toMatchObject({
      kind: 'hold',
      replicas: 20,
    });
    expect(autoscaler.decide(61_000, { replicas: 20 })).toMatchObject({
      kind: 'down',
      replicas: 1,
    });
  });

  it('scales down only to the largest demand of the window', () => {
    const trace = [
      ...steady(0, 10_000, 14),
      ...steady(11_000, 30_000, 7),
      ...steady(31_000, 80_000, 3.5),
    ];
    const steps = simulate(policy, trace, 1);
    expect(steps.find((s) => s.at === 0)).toMatchObject({ kind: 'up', replicas: 20 });
    // 7 in flight wants 10: after 60 s without the 14s (last at 10 s), down to 10 — not to 5.
    expect(steps.find((s) => s.at === 70_000)).toMatchObject({ kind: 'down', replicas: 10 });
    expect(steps.filter((s) => s.kind === 'down').map((s) => [s.at, s.replicas])).toEqual([
      [70_000, 10],
    ]);
    expect(steps.at(-1)).toMatchObject({ kind: 'hold', replicas: 10 }); // 3.5 wants 5, only 50 s so far
  });

  describe('bounds', () => {
    it('caps scale-up at maxReplicas and then holds there', () => {
      const autoscaler = new Autoscaler(policy);
      autoscaler.observe(sample(0, 100));
      expect(autoscaler.decide(0, { replicas: 3 })).toMatchObject({ kind: 'up', replicas: 20 });
      expect(autoscaler.decide(0, { replicas: 20 })).toEqual({
        kind: 'hold',
        replicas: 20,
        reason:
          'demand 100 in-flight+queued over the last 1s (utilization 10000% of 1 ready) wants 143 replicas (target 70%), capped at maxReplicas 20; keeping 20 replicas',
      });
    });

    it('never scales below minReplicas', () => {
      const steps = simulate(
        { ...policy, minReplicas: 3 },
        [...steady(0, 0, 14), ...steady(1000, 100_000, 0)],
        3,
      );
      expect(Math.min(...steps.map((s) => s.replicas))).toBe(3);
      expect(steps.at(-1)?.reason).toMatch(
        /wants 0 replicas \(target 70%\), fewer than minReplicas 3; keeping 3 replicas$/,
      );
    });

    it('clamps a current count above maxReplicas', () => {
      const autoscaler = new Autoscaler(policy);
      autoscaler.observe(sample(0, 14));
      expect(autoscaler.decide(0, { replicas: 50 })).toEqual({
        kind: 'clamp',
        replicas: 20,
        reason:
          'demand 14 in-flight+queued over the last 1s (utilization 1400% of 1 ready) wants 20 replicas (target 70%); setting 20 replicas because the current 50 is above maxReplicas 20',
      });
    });

    it('clamps a current count below minReplicas even without data', () => {
      const decision = new Autoscaler({ ...policy, minReplicas: 2 }).decide(0, { replicas: 0 });
      expect(decision).toEqual({
        kind: 'clamp',
        replicas: 2,
        reason:
          'no demand samples observed yet; setting 2 replicas because the current 0 is below minReplicas 2',
      });
    });

    it('scales up past minReplicas from below it when demand asks for more', () => {
      const autoscaler = new Autoscaler({ ...policy, minReplicas: 2 });
      autoscaler.observe(sample(0, 7));
      const decision = autoscaler.decide(0, { replicas: 0 });
      expect(decision).toMatchObject({ kind: 'up', replicas: 10 });
      expect(decision.reason).toMatch(/scaling up from 0 \(below minReplicas 2\) to 10$/);
    });
  });

  describe('missing and stale data', () => {
    it('keeps the current count before any sample, and says so', () => {
      expect(new Autoscaler(policy).decide(0, { replicas: 4 })).toEqual({
        kind: 'no-data',
        replicas: 4,
        reason: 'no demand samples observed yet; keeping 4 replicas',
      });
    });

    it('keeps the current count when the newest sample is older than 3 refresh periods', () => {
      const autoscaler = new Autoscaler({ ...policy, refreshPeriodSeconds: 2 });
      autoscaler.observe(sample(0, 0));
      expect(autoscaler.decide(6000, { replicas: 4 }).kind).toBe('hold'); // exactly 3 periods: still valid
      expect(autoscaler.decide(6001, { replicas: 4 })).toEqual({
        kind: 'stale',
        replicas: 4,
        reason:
          'the newest demand sample is 6.001s old, older than 3 refresh periods (6s); keeping 4 replicas',
      });
    });

    it('treats even high stale demand as unknown', () => {
      const autoscaler = new Autoscaler(policy);
      autoscaler.observe(sample(0, 1000));
      expect(autoscaler.decide(3500, { replicas: 2 })).toMatchObject({
        kind: 'stale',
        replicas: 2,
      });
    });

    it('scales up on the newest samples while they are valid, saying how old they are', () => {
      const autoscaler = new Autoscaler(policy);
      autoscaler.observe(sample(0, 7));
      const decision = autoscaler.decide(2500, { replicas: 1 });
      expect(decision).toMatchObject({ kind: 'up', replicas: 10 });
      expect(decision.reason).toMatch(
        /^demand 7 in-flight\+queued in the newest samples \(2\.5s ago\)/,
      );
    });

    it('does not scale down before a fresh autoscaler has seen a full window', () => {
      const autoscaler = new Autoscaler(policy);
      for (const point of steady(0, 58_000, 0))
        autoscaler.observe(sample(point.at, point.inFlight));
      const decision = autoscaler.decide(58_000, { replicas: 5 });
      expect(decision).toMatchObject({ kind: 'hold', replicas: 5 });
      expect(decision.reason).toMatch(
        /but scaling down needs 60s of demand samples and none describes 59s ago; keeping 5 replicas$/,
      );
      autoscaler.observe(sample(59_000, 0));
      expect(autoscaler.decide(59_000, { replicas: 5 })).toMatchObject({
        kind: 'down',
        replicas: 1,
      });
    });

    it('does not scale down across a reporting gap longer than 3 refresh periods', () => {
      const autoscaler = new Autoscaler({ ...policy, scaleDownDelaySeconds: 10 });
      for (const at of [0, 1000, 2000, 7000, 8000, 9000, 10_000]) autoscaler.observe(sample(at, 0));
      // 2000 describes demand until 5000; (5000, 6000] is unknown.
      expect(autoscaler.decide(10_000, { replicas: 5 })).toMatchObject({
        kind: 'hold',
        replicas: 5,
      });
    });

    it('tolerates sampling jitter: a period without its own sample keeps the previous demand', () => {
      const autoscaler = new Autoscaler({ ...policy, scaleDownDelaySeconds: 10 });
      // Samples roughly every second, drifting against the decision clock so some periods are empty.
      for (const at of [0, 1100, 2300, 2400, 2900, 5000, 5100, 6800, 8000, 8100, 9500, 10_000]) {
        autoscaler.observe(sample(at, 1));
      }
      expect(autoscaler.decide(10_000, { replicas: 5 })).toMatchObject({
        kind: 'down',
        replicas: 2,
      });
    });
  });

  it('ignores samples taken after the decision time', () => {
    const autoscaler = new Autoscaler(policy);
    autoscaler.observe(sample(0, 1));
    autoscaler.observe(sample(2000, 100));
    expect(autoscaler.decide(1000, { replicas: 2 })).toMatchObject({ kind: 'hold', replicas: 2 });
  });

  it.each([
    ['sample.at', { at: Number.NaN }],
    ['sample.inFlight', { inFlight: -1 }],
    ['sample.queued', { queued: Infinity }],
    ['sample.readyReplicas', { readyReplicas: 0.5 }],
  ])('rejects a sample with a bad %s', (field, override) => {
    expect(() => new Autoscaler(policy).observe({ ...sample(0, 1), ...override })).toThrow(
      new RegExp(`^${field} must be`),
    );
  });

  it('rejects a bad decision time or current count', () => {
    const autoscaler = new Autoscaler(policy);
    expect(() => autoscaler.decide(Number.NaN, { replicas: 1 })).toThrow(/^now must be/);
    expect(() => autoscaler.decide(0, { replicas: -1 })).toThrow(/^current\.replicas must be/);
  });
});
