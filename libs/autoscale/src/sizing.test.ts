import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requiredReplicas, utilization } from './index.js';

const spec = {
  targetRps: 20,
  requestSeconds: 10,
  targetUtilizationPercent: 70,
  maxConcurrentPerReplica: 1,
};

describe('requiredReplicas', () => {
  it('gives 286 for the SPEC example (20 rps × 10 s / 0.7 / 1)', () => {
    expect(requiredReplicas(spec)).toBe(286);
  });

  it('divides by the slots per replica', () => {
    expect(requiredReplicas({ ...spec, maxConcurrentPerReplica: 4 })).toBe(72); // 285.71 / 4 = 71.4
  });

  it('takes the exact ceiling where floating point lands just above an integer', () => {
    // 3 × 0.1 / 0.1 is 3.0000000000000004 in doubles; Math.ceil would say 4.
    expect(Math.ceil((3 * 0.1) / (10 / 100))).toBe(4);
    expect(
      requiredReplicas({
        targetRps: 3,
        requestSeconds: 0.1,
        targetUtilizationPercent: 10,
        maxConcurrentPerReplica: 1,
      }),
    ).toBe(3);
    expect(
      requiredReplicas({
        targetRps: 7,
        requestSeconds: 10,
        targetUtilizationPercent: 70,
        maxConcurrentPerReplica: 1,
      }),
    ).toBe(100);
    expect(
      requiredReplicas({
        targetRps: 1.1,
        requestSeconds: 1,
        targetUtilizationPercent: 10,
        maxConcurrentPerReplica: 1,
      }),
    ).toBe(11);
  });

  it('needs no replicas for no traffic', () => {
    expect(requiredReplicas({ ...spec, targetRps: 0 })).toBe(0);
  });

  it('is exactly r when the load fills r replicas to the target, r + 1 with a little more, r with a little less', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 4 }),
        (replicas, target, perReplica, hundredths) => {
          // replicas × perReplica × target/100 busy slots, written as rps × seconds.
          const requestSeconds = hundredths / 100;
          const exactRps = (replicas * perReplica * target) / hundredths;
          fc.pre(Number.isInteger(exactRps));
          const sizing = {
            targetRps: exactRps,
            requestSeconds,
            targetUtilizationPercent: target,
            maxConcurrentPerReplica: perReplica,
          };
          expect(requiredReplicas(sizing)).toBe(replicas);
          // ±0.001 rps moves the load by at most 0.004 of a replica.
          expect(requiredReplicas({ ...sizing, targetRps: exactRps + 0.001 })).toBe(replicas + 1);
          expect(requiredReplicas({ ...sizing, targetRps: exactRps - 0.001 })).toBe(replicas);
        },
      ),
    );
  });

  it('agrees with the floating-point formula wherever that is far from an integer', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }).map((n) => n / 100),
        fc.integer({ min: 1, max: 600_000 }).map((n) => n / 1000),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 16 }),
        (targetRps, requestSeconds, target, perReplica) => {
          const quotient = (targetRps * requestSeconds) / (target / 100) / perReplica;
          fc.pre(Math.abs(quotient - Math.round(quotient)) > 1e-6 * Math.max(1, quotient));
          expect(
            requiredReplicas({
              targetRps,
              requestSeconds,
              targetUtilizationPercent: target,
              maxConcurrentPerReplica: perReplica,
            }),
          ).toBe(Math.ceil(quotient));
        },
      ),
    );
  });

  it.each([
    ['targetRps', { targetRps: -1 }],
    ['targetRps', { targetRps: Number.NaN }],
    ['requestSeconds', { requestSeconds: Infinity }],
    ['targetUtilizationPercent', { targetUtilizationPercent: 0 }],
    ['targetUtilizationPercent', { targetUtilizationPercent: 100.5 }],
    ['maxConcurrentPerReplica', { maxConcurrentPerReplica: 0 }],
    ['maxConcurrentPerReplica', { maxConcurrentPerReplica: 1.5 }],
  ])('rejects a bad %s with a RangeError naming it', (name, override) => {
    expect(() => requiredReplicas({ ...spec, ...override })).toThrow(
      new RegExp(`^${name} must be`),
    );
    expect(() => requiredReplicas({ ...spec, ...override })).toThrow(RangeError);
  });

  it('refuses an answer too large to be an exact number', () => {
    expect(() => requiredReplicas({ ...spec, targetRps: 1e300, requestSeconds: 1e10 })).toThrow(
      /too large/,
    );
  });
});

describe('utilization', () => {
  it('counts queued requests as demand on top of in-flight ones', () => {
    expect(utilization({ inFlight: 3, queued: 4, replicas: 5, maxConcurrentPerReplica: 2 })).toBe(
      0.7,
    );
  });

  it('counts a replica using k of its c slots as k/c busy', () => {
    expect(utilization({ inFlight: 1, queued: 0, replicas: 1, maxConcurrentPerReplica: 4 })).toBe(
      0.25,
    );
  });

  it('is Infinity with demand and no replicas, and 0 with neither', () => {
    expect(utilization({ inFlight: 0, queued: 1, replicas: 0, maxConcurrentPerReplica: 1 })).toBe(
      Infinity,
    );
    expect(utilization({ inFlight: 0, queued: 0, replicas: 0, maxConcurrentPerReplica: 1 })).toBe(
      0,
    );
  });

  it.each([
    ['inFlight', { inFlight: -1 }],
    ['queued', { queued: Number.NaN }],
    ['replicas', { replicas: 1.5 }],
    ['maxConcurrentPerReplica', { maxConcurrentPerReplica: 0 }],
  ])('rejects a bad %s with a RangeError naming it', (name, override) => {
    const input = { inFlight: 1, queued: 0, replicas: 1, maxConcurrentPerReplica: 1, ...override };
    expect(() => utilization(input)).toThrow(new RegExp(`^${name} must be`));
  });
});
