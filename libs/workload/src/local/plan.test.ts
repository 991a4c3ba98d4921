import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextBackoff, pickForRemoval, planReplicas, type PlannedReplica } from './plan.js';

const replica = (
  id: string,
  specHash: string,
  phase: PlannedReplica['phase'],
  createdAt: number,
): PlannedReplica => ({ id, specHash, phase, createdAt });

const replicas = fc
  .array(
    fc.record({
      specHash: fc.constantFrom('new', 'old', 'older'),
      phase: fc.constantFrom('starting' as const, 'ready' as const, 'failed' as const),
      createdAt: fc.integer({ min: 0, max: 1_000 }),
    }),
    { maxLength: 12 },
  )
  .map((list) => list.map((r, i) => replica(`r${i}`, r.specHash, r.phase, r.createdAt)));

describe('planReplicas', () => {
  it('starts what is missing of the desired spec and drains nothing while none is ready', () => {
    const old = [replica('a', 'old', 'ready', 1), replica('b', 'old', 'ready', 2)];
    expect(planReplicas(old, 'new', 2)).toEqual({ create: 2, terminate: [] });
    const starting = [...old, replica('c', 'new', 'starting', 3), replica('d', 'new', 'failed', 4)];
    expect(planReplicas(starting, 'new', 2)).toEqual({ create: 0, terminate: [] });
  });

  it('drains one old replica per ready new one', () => {
    const list = [
      replica('a', 'old', 'ready', 1),
      replica('b', 'old', 'ready', 2),
      replica('c', 'new', 'ready', 3),
      replica('d', 'new', 'starting', 4),
    ];
    expect(planReplicas(list, 'new', 2)).toEqual({ create: 0, terminate: ['b'] });
  });

  it('scales down the not-ready first, then the newest', () => {
    const list = [
      replica('a', 'new', 'ready', 1),
      replica('b', 'new', 'ready', 3),
      replica('c', 'new', 'failed', 2),
      replica('d', 'new', 'ready', 2),
    ];
    expect(planReplicas(list, 'new', 1).terminate).toEqual(['c', 'b', 'd']);
    expect(pickForRemoval(list, 0)).toEqual([]);
  });

  it('never lowers the number of ready replicas below what the service needs (maxUnavailable 0)', () => {
    fc.assert(
      fc.property(replicas, fc.integer({ min: 0, max: 6 }), (list, desired) => {
        const { create, terminate } = planReplicas(list, 'new', desired);
        const kept = list.filter((r) => !terminate.includes(r.id));
        const readyBefore = list.filter((r) => r.phase === 'ready').length;
        const readyAfter = kept.filter((r) => r.phase === 'ready').length;
        expect(readyAfter).toBeGreaterThanOrEqual(Math.min(desired, readyBefore));
        // Exactly `desired` replicas of the desired spec once the new ones are started.
        expect(kept.filter((r) => r.specHash === 'new').length + create).toBe(desired);
        // Old replicas stay only while they stand in for new ones that are not ready.
        const readyNew = kept.filter((r) => r.specHash === 'new' && r.phase === 'ready').length;
        expect(kept.filter((r) => r.specHash !== 'new').length).toBeLessThanOrEqual(
          Math.max(0, desired - readyNew),
        );
        expect(new Set(terminate).size).toBe(terminate.length);
      }),
    );
  });
});

describe('nextBackoff', () => {
  it('doubles up to the cap', () => {
    const policy = { initialMs: 1_000, maxMs: 5_000 };
    const delays = [1_000];
    for (let i = 0; i < 4; i += 1) delays.push(nextBackoff(delays[i]!, policy));
    expect(delays).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
  });
});
