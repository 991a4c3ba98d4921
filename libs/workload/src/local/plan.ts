// The decisions of one reconcile pass that depend on nothing but the replicas that exist: how
// many to start, which to drain, how long to wait before a restart. Pure, so the rules
// (maxUnavailable 0, which replica goes first) are tested without processes.
import type { ReplicaPhase } from '../driver.js';

/** A replica as the plan sees it: not terminating (those are already on their way out). */
export interface PlannedReplica {
  readonly id: string;
  readonly specHash: string;
  readonly phase: Exclude<ReplicaPhase, 'terminating'>;
  readonly createdAt: number;
}

/** What to change. */
export interface ReplicaPlan {
  /** Replicas of the desired spec to start. */
  readonly create: number;
  /** Replicas to drain and stop, in the order chosen. */
  readonly terminate: readonly string[];
}

/**
 * Moves the replicas toward `desired` replicas of `specHash` without lowering the number of
 * ready ones: replicas of the desired spec are started at once; a replica of another spec is
 * drained only when a ready one of the desired spec takes its place (maxUnavailable 0), so
 * while the new ones are not ready the old ones keep serving. Surplus replicas of the desired
 * spec go first when not ready, then newest first.
 */
export function planReplicas(
  replicas: readonly PlannedReplica[],
  specHash: string,
  desired: number,
): ReplicaPlan {
  const current = replicas.filter((r) => r.specHash === specHash);
  const outdated = replicas.filter((r) => r.specHash !== specHash);
  const terminate: string[] = [];
  const surplus = pickForRemoval(current, current.length - desired);
  terminate.push(...surplus.map((r) => r.id));
  const kept = current.filter((r) => !surplus.includes(r));
  const readyCurrent = kept.filter((r) => r.phase === 'ready').length;
  const keepOutdated = Math.max(0, desired - readyCurrent);
  terminate.push(...pickForRemoval(outdated, outdated.length - keepOutdated).map((r) => r.id));
  return { create: Math.max(0, desired - current.length), terminate };
}

/** The `count` replicas to remove first: failed, then starting, then ready; newest first. */
export function pickForRemoval<T extends PlannedReplica>(
  replicas: readonly T[],
  count: number,
): T[] {
  if (count <= 0) return [];
  const rank = { failed: 0, starting: 1, ready: 2 } as const;
  return [...replicas]
    .sort((a, b) => rank[a.phase] - rank[b.phase] || b.createdAt - a.createdAt)
    .slice(0, count);
}

/** Restart delays: `initialMs`, doubling per restart, at most `maxMs`. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** The delay after the one that was just used. */
export function nextBackoff(currentMs: number, policy: BackoffPolicy): number {
  return Math.min(Math.max(currentMs, policy.initialMs) * 2, policy.maxMs);
}
