import { ceilQuotient, exactDecimal, multiplyExact } from './exact.js';
import { requireCount, requireNumber } from './validate.js';

/** The planning inputs of {@link requiredReplicas}. */
export interface ReplicaSizing {
  /** Requests per second the service must absorb; finite, ≥ 0. */
  readonly targetRps: number;
  /** Seconds one request occupies a replica slot; finite, ≥ 0. */
  readonly requestSeconds: number;
  /** Utilization the autoscaler aims for, in percent, 1–100 (deploymentconfig `targetUtilization`). */
  readonly targetUtilizationPercent: number;
  /** Requests one replica serves at once, an integer ≥ 1 (`maxConcurrentRequestsPerContainer`). */
  readonly maxConcurrentPerReplica: number;
}

/** The live counts of {@link utilization}. */
export interface UtilizationInput {
  /** Requests being scored by replicas right now; finite, ≥ 0. */
  readonly inFlight: number;
  /** Requests waiting in the router for a free slot; finite, ≥ 0. */
  readonly queued: number;
  /** Replicas serving the service; an integer ≥ 0. */
  readonly replicas: number;
  /** Requests one replica serves at once, an integer ≥ 1. */
  readonly maxConcurrentPerReplica: number;
}

const PERCENT = exactDecimal(100);

/**
 * The replica count users plan with (SPEC §4):
 * `ceil(targetRps × requestSeconds / (targetUtilizationPercent / 100) / maxConcurrentPerReplica)`.
 *
 * The ceiling is taken exactly on the decimals the caller wrote, so `(7, 10, 70, 1)` is 100 and
 * `(3, 0.1, 10, 1)` is 3, where plain floating point would say 4. The result is not clamped to
 * any min/max replicas; zero traffic needs zero replicas.
 *
 * @example requiredReplicas({ targetRps: 20, requestSeconds: 10, targetUtilizationPercent: 70, maxConcurrentPerReplica: 1 }) // 286
 * @throws RangeError naming the parameter when an input is out of range, or when the answer
 *   exceeds `Number.MAX_SAFE_INTEGER`.
 */
export function requiredReplicas(sizing: ReplicaSizing): number {
  const targetRps = requireNumber('targetRps', sizing.targetRps, 0);
  const requestSeconds = requireNumber('requestSeconds', sizing.requestSeconds, 0);
  const target = requireNumber('targetUtilizationPercent', sizing.targetUtilizationPercent, 1, 100);
  const perReplica = requireCount('maxConcurrentPerReplica', sizing.maxConcurrentPerReplica, 1);

  // busy slots / (target / 100) / slots per replica, rearranged so the only division is the last.
  const busySlots = multiplyExact(exactDecimal(targetRps), exactDecimal(requestSeconds));
  const replicas = ceilQuotient(
    multiplyExact(busySlots, PERCENT),
    multiplyExact(exactDecimal(target), exactDecimal(perReplica)),
  );
  if (replicas > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(
      `targetRps × requestSeconds is too large: it needs ${replicas} replicas, more than Number.MAX_SAFE_INTEGER`,
    );
  }
  return Number(replicas);
}

/**
 * The share of serving capacity that demand occupies (SPEC §4):
 * `(inFlight + queued) / (replicas × maxConcurrentPerReplica)`. Requests queued in the router
 * count as demand, so the value exceeds 1 when replicas cannot keep up. With zero replicas it is
 * `Infinity` when there is demand and 0 when there is none.
 *
 * @throws RangeError naming the parameter when an input is out of range.
 */
export function utilization(input: UtilizationInput): number {
  const inFlight = requireNumber('inFlight', input.inFlight, 0);
  const queued = requireNumber('queued', input.queued, 0);
  const replicas = requireCount('replicas', input.replicas, 0);
  const perReplica = requireCount('maxConcurrentPerReplica', input.maxConcurrentPerReplica, 1);
  const demand = inFlight + queued;
  if (replicas === 0) return demand > 0 ? Infinity : 0;
  return demand / (replicas * perReplica);
}
