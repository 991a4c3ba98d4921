import type { Replica } from '../driver.js';

/** Where a rollout of one generation stands, from a {@link WorkloadDriver.listReplicas} answer. */
export interface RolloutProgress {
  /** Replicas of the generation that are ready. */
  readonly ready: number;
  /** Replicas of the generation, not terminating. */
  readonly updated: number;
  /** Replicas of other generations still listed (serving, starting or draining). */
  readonly outdated: number;
  /** Replicas of the generation reported failed, with their messages. */
  readonly failed: readonly Replica[];
  /** `desired` ready replicas of the generation: the deployment serves the new version. */
  readonly available: boolean;
  /** Available, and no other replica is left (old ones drained and gone). */
  readonly complete: boolean;
}

/**
 * How far the rollout of `generation` to `desired` replicas has got. `apply` returns once the
 * change is started; an agent polls `listReplicas(key)` and this function until `available`
 * (the deployment succeeded) or until `failed` is not empty for longer than it tolerates (the
 * deployment failed: `failed[i].message` says why, `tailLogs` shows the rest).
 */
export function rolloutProgress(
  replicas: readonly Replica[],
  generation: number,
  desired: number,
): RolloutProgress {
  const current = replicas.filter((r) => r.generation === generation && r.phase !== 'terminating');
  const ready = current.filter((r) => r.phase === 'ready').length;
  const outdated = replicas.filter((r) => r.generation !== generation).length;
  const draining = replicas.length - current.length - outdated;
  const available = ready >= desired;
  return {
    ready,
    updated: current.length,
    outdated,
    failed: current.filter((r) => r.phase === 'failed'),
    available,
    complete: available && current.length === desired && outdated === 0 && draining === 0,
  };
}
