import { ceilQuotient, exactDecimal } from './exact.js';
import { requireCount, requireNumber, requirePositive } from './validate.js';

/**
 * How one service scales; the `autoScaler` block of an Azure ML v1 `deploymentconfig.json`
 * plus the replica concurrency. Validated by the {@link Autoscaler} constructor.
 */
export interface AutoscalePolicy {
  /** Fewest replicas, an integer ≥ 0 (deploymentconfig default 1). */
  readonly minReplicas: number;
  /** Most replicas, an integer ≥ 1 and ≥ `minReplicas` (deploymentconfig default 10). */
  readonly maxReplicas: number;
  /** Utilization to aim for, in percent, 1–100 (deploymentconfig default 70). */
  readonly targetUtilizationPercent: number;
  /** Requests one replica serves at once, an integer ≥ 1 (`maxConcurrentRequestsPerContainer`). */
  readonly maxConcurrentPerReplica: number;
  /**
   * Seconds per refresh period, > 0 (deploymentconfig default 1). Demand is averaged per period,
   * and a sample older than 3 periods is stale.
   */
  readonly refreshPeriodSeconds: number;
  /** Seconds of lower demand before replicas are removed, > 0; default 60. */
  readonly scaleDownDelaySeconds?: number;
}

/** A validated policy with every default filled in. */
export type ResolvedAutoscalePolicy = Readonly<Required<AutoscalePolicy>>;

/** The scale-down delay when the policy does not set one. */
export const DEFAULT_SCALE_DOWN_DELAY_SECONDS = 60;

/** A demand sample describes demand for this many refresh periods; after that it is stale. */
export const SAMPLE_VALID_PERIODS = 3;

/** The longest scale-down window, in refresh periods, that a policy may ask for. */
export const MAX_WINDOW_PERIODS = 10_000;

/** Checks every field (RangeError naming the field) and fills in the defaults. */
export function resolvePolicy(policy: AutoscalePolicy): ResolvedAutoscalePolicy {
  const minReplicas = requireCount('minReplicas', policy.minReplicas, 0);
  const maxReplicas = requireCount('maxReplicas', policy.maxReplicas, 1);
  if (minReplicas > maxReplicas) {
    throw new RangeError(
      `minReplicas (${minReplicas}) must not exceed maxReplicas (${maxReplicas})`,
    );
  }
  const resolved: ResolvedAutoscalePolicy = Object.freeze({
    minReplicas,
    maxReplicas,
    targetUtilizationPercent: requireNumber(
      'targetUtilizationPercent',
      policy.targetUtilizationPercent,
      1,
      100,
    ),
    maxConcurrentPerReplica: requireCount(
      'maxConcurrentPerReplica',
      policy.maxConcurrentPerReplica,
      1,
    ),
    refreshPeriodSeconds: requirePositive('refreshPeriodSeconds', policy.refreshPeriodSeconds),
    scaleDownDelaySeconds: requirePositive(
      'scaleDownDelaySeconds',
      policy.scaleDownDelaySeconds ?? DEFAULT_SCALE_DOWN_DELAY_SECONDS,
    ),
  });
  // Each decision walks every period of the window; keep that walk (and the samples kept for
  // it) small even for a policy with a tiny refresh period.
  if (scaleDownWindowPeriods(resolved) > MAX_WINDOW_PERIODS) {
    throw new RangeError(
      `scaleDownDelaySeconds (${resolved.scaleDownDelaySeconds}) must span at most ${MAX_WINDOW_PERIODS} refresh periods of ${resolved.refreshPeriodSeconds}s`,
    );
  }
  return resolved;
}

/**
 * How many refresh periods the scale-down window spans: enough to cover the whole delay, so a
 * 2.5 s delay with 1 s periods looks at 3 periods. Exact, so 1.1 s / 0.1 s is 11, not 12.
 */
export function scaleDownWindowPeriods(policy: ResolvedAutoscalePolicy): number {
  return Number(
    ceilQuotient(
      exactDecimal(policy.scaleDownDelaySeconds),
      exactDecimal(policy.refreshPeriodSeconds),
    ),
  );
}
