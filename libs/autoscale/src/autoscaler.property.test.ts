import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Autoscaler, type AutoscalePolicy } from './index.js';
import { simulate, wantedFor, type DemandPoint } from './test-support/simulate.js';

/** Policies with short windows, so traces cross them often. Periods are whole ms. */
const policies: fc.Arbitrary<AutoscalePolicy> = fc
  .record({
    minReplicas: fc.integer({ min: 0, max: 5 }),
    span: fc.integer({ min: 0, max: 30 }),
    targetUtilizationPercent: fc.integer({ min: 1, max: 100 }),
    maxConcurrentPerReplica: fc.integer({ min: 1, max: 4 }),
    refreshPeriodSeconds: fc.constantFrom(0.25, 0.5, 1, 2),
    scaleDownDelaySeconds: fc.integer({ min: 1, max: 12 }),
  })
  .map(({ span, ...policy }) => ({
    ...policy,
    maxReplicas: Math.max(1, policy.minReplicas + span),
  }));

const demands = fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 80 });

/**
 * Demand in phases that each hold the load of some replica count (0 to one above the policy's
 * maximum) for a while, so traces rise and fall across the policy's whole range and stay low
 * for longer than a scale-down delay. Independent random samples rarely do: with a low target
 * utilization nearly every sample wants maxReplicas, and only 1 run in 10 or so scaled down.
 */
function phasedDemands(policy: AutoscalePolicy): fc.Arbitrary<number[]> {
  const perReplica = (policy.maxConcurrentPerReplica * policy.targetUtilizationPercent) / 100;
  const phase = fc
    .record({
      replicas: fc.integer({ min: 0, max: policy.maxReplicas + 1 }),
      length: fc.integer({ min: 1, max: 40 }),
    })
    .chain(({ replicas, length }) => {
      const level = replicas * perReplica;
      const sample = fc.integer({ min: Math.floor(level * 0.8), max: Math.ceil(level) });
      return fc.array(sample, { minLength: length, maxLength: length });
    });
  return fc.array(phase, { minLength: 2, maxLength: 5 }).map((phases) => phases.flat());
}

/** A policy with a demand trace for it: phased two times in three, else independent samples. */
const policiesWithDemands: fc.Arbitrary<[AutoscalePolicy, number[]]> = policies.chain((policy) =>
  fc.tuple(fc.constant(policy), fc.oneof(demands, phasedDemands(policy), phasedDemands(policy))),
);

/**
 * Counts the runs of a property whose simulation scaled down at least once. The scale-down
 * properties hold vacuously on a trace without one, so each asserts afterwards that enough of
 * its runs had one: a generator that stops producing them fails the test instead of passing it.
 */
class ScaleDownCoverage {
  private runs = 0;
  private withDown = 0;
  record(steps: readonly { kind: string }[]): void {
    this.runs += 1;
    if (steps.some((step) => step.kind === 'down')) this.withDown += 1;
  }
  /** About half the runs scale down with these generators; a quarter leaves room for chance. */
  expectEnough(): void {
    expect(this.withDown / this.runs).toBeGreaterThanOrEqual(0.25);
  }
}

/** One sample per refresh period, each decided right after it is observed. */
function everyPeriod(policy: AutoscalePolicy, inFlight: readonly number[]): DemandPoint[] {
  const periodMs = policy.refreshPeriodSeconds * 1000;
  return inFlight.map((demand, index) => ({ at: index * periodMs, inFlight: demand }));
}

describe('Autoscaler properties', () => {
  it('never decides outside [minReplicas, maxReplicas], whatever the samples, times and current count', () => {
    const event = fc.oneof(
      fc.record({
        observe: fc.constant(true),
        at: fc.integer({ min: 0, max: 40_000 }),
        demand: fc.nat(500),
      }),
      fc.record({
        observe: fc.constant(false),
        at: fc.integer({ min: 0, max: 40_000 }),
        current: fc.nat(60),
      }),
    );
    fc.assert(
      fc.property(policies, fc.array(event, { maxLength: 120 }), (policy, events) => {
        const autoscaler = new Autoscaler(policy);
        for (const e of events) {
          if ('demand' in e) {
            autoscaler.observe({ at: e.at, inFlight: e.demand, queued: 0, readyReplicas: 1 });
          } else {
            const { replicas } = autoscaler.decide(e.at, { replicas: e.current });
            expect(replicas).toBeGreaterThanOrEqual(policy.minReplicas);
            expect(replicas).toBeLessThanOrEqual(policy.maxReplicas);
          }
        }
      }),
    );
  });

  it('never scales down below what any sample of the last scaleDownDelaySeconds wanted', () => {
    const coverage = new ScaleDownCoverage();
    fc.assert(
      fc.property(policiesWithDemands, ([policy, inFlight]) => {
        const trace = everyPeriod(policy, inFlight);
        const delayMs = (policy.scaleDownDelaySeconds ?? 60) * 1000;
        const steps = simulate(policy, trace, policy.minReplicas);
        coverage.record(steps);
        for (const step of steps) {
          if (step.kind !== 'down') continue;
          for (const point of trace) {
            if (point.at > step.at - delayMs && point.at <= step.at) {
              const wanted = wantedFor(
                point.inFlight,
                policy.maxConcurrentPerReplica,
                policy.targetUtilizationPercent,
              );
              expect(step.replicas).toBeGreaterThanOrEqual(wanted);
            }
          }
        }
      }),
    );
    coverage.expectEnough();
  });

  it('never scales down before a full delay has been observed', () => {
    const coverage = new ScaleDownCoverage();
    fc.assert(
      fc.property(policiesWithDemands, fc.nat(60), ([policy, inFlight], initial) => {
        const trace = everyPeriod(policy, inFlight);
        const delayMs = (policy.scaleDownDelaySeconds ?? 60) * 1000;
        const periodMs = policy.refreshPeriodSeconds * 1000;
        const steps = simulate(policy, trace, initial);
        coverage.record(steps);
        for (const step of steps) {
          // The first sample is at 0 and describes (−period, 0]: a window ends no earlier than that.
          if (step.at < delayMs - periodMs) expect(step.kind).not.toBe('down');
        }
      }),
    );
    coverage.expectEnough();
  });

  it('is monotone in demand: more demand at the same instants never yields fewer replicas', () => {
    const samples = fc.array(
      fc.tuple(fc.integer({ min: 0, max: 30_000 }), fc.nat(200), fc.nat(50)),
      {
        minLength: 1,
        maxLength: 60,
      },
    );
    fc.assert(
      fc.property(policies, samples, fc.nat(40), (policy, generated, initial) => {
        const sorted = [...generated].sort(([a], [b]) => a - b);
        const low = sorted.map(([at, demand]) => ({ at, inFlight: demand }));
        const high = sorted.map(([at, demand, more]) => ({ at, inFlight: demand + more }));
        const highSteps = simulate(policy, high, initial);
        simulate(policy, low, initial).forEach((step, index) => {
          expect(highSteps[index]?.replicas).toBeGreaterThanOrEqual(step.replicas);
        });
      }),
    );
  });

  it('scales up at the first decision after demand exceeds the capacity of the current replicas', () => {
    fc.assert(
      fc.property(
        policies,
        demands,
        fc.nat(30),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (policy, history, excess, offset) => {
          const periodMs = policy.refreshPeriodSeconds * 1000;
          const steps = simulate(policy, everyPeriod(policy, history), policy.minReplicas);
          const current = steps.at(-1)?.replicas ?? policy.minReplicas;
          // The smallest demand whose wanted replicas exceed `current`, plus some.
          const capacity =
            (current * policy.maxConcurrentPerReplica * policy.targetUtilizationPercent) / 100;
          const demand = Math.floor(capacity) + 1 + excess;
          const wanted = wantedFor(
            demand,
            policy.maxConcurrentPerReplica,
            policy.targetUtilizationPercent,
          );
          expect(wanted).toBeGreaterThan(current);

          const autoscaler = new Autoscaler(policy);
          history.forEach((inFlight, index) =>
            autoscaler.observe({
              at: index * periodMs,
              inFlight,
              queued: 0,
              readyReplicas: current,
            }),
          );
          const at = history.length * periodMs;
          autoscaler.observe({ at, inFlight: demand, queued: 0, readyReplicas: current });
          const decision = autoscaler.decide(at + Math.floor(offset * periodMs), {
            replicas: current,
          });
          if (current < policy.maxReplicas) {
            expect(decision).toMatchObject({
              kind: 'up',
              replicas: Math.min(policy.maxReplicas, wanted),
            });
          } else {
            expect(decision).toMatchObject({ kind: 'hold', replicas: policy.maxReplicas });
          }
        },
      ),
    );
  });

  it('decides the same whatever order the samples arrived in', () => {
    fc.assert(
      fc.property(
        policies,
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.nat(100)), {
          minLength: 1,
          maxLength: 60,
        }),
        fc.nat(40),
        fc.integer({ min: 0, max: 25_000 }),
        (policy, samples, current, now) => {
          const inOrder = new Autoscaler(policy);
          const reversed = new Autoscaler(policy);
          const sorted = [...samples].sort(([a], [b]) => a - b);
          for (const [at, inFlight] of sorted)
            inOrder.observe({ at, inFlight, queued: 0, readyReplicas: 1 });
          for (const [at, inFlight] of sorted.reverse())
            reversed.observe({ at, inFlight, queued: 0, readyReplicas: 1 });
          expect(reversed.decide(now, { replicas: current })).toEqual(
            inOrder.decide(now, { replicas: current }),
          );
        },
      ),
    );
  });
});
