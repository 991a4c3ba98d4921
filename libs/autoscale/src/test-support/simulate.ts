// Drives an Autoscaler the way the control plane's loop does: every step reports demand
// (with the replicas currently running as ready) and then asks for a decision, applying it.
import { Autoscaler, type AutoscalePolicy, type ScaleDecision } from '../index.js';

/** Demand at one instant of a trace. */
export interface DemandPoint {
  /** ms */
  readonly at: number;
  readonly inFlight: number;
  readonly queued?: number;
}

/** One step of a simulation: the decision taken at `at`. */
export interface SimulatedStep extends ScaleDecision {
  readonly at: number;
}

/** Observes each point, decides right after it and applies the decision. */
export function simulate(
  policy: AutoscalePolicy,
  trace: readonly DemandPoint[],
  initialReplicas: number,
): SimulatedStep[] {
  const autoscaler = new Autoscaler(policy);
  let replicas = initialReplicas;
  return trace.map((point) => {
    autoscaler.observe({
      at: point.at,
      inFlight: point.inFlight,
      queued: point.queued ?? 0,
      readyReplicas: replicas,
    });
    const decision = autoscaler.decide(point.at, { replicas });
    replicas = decision.replicas;
    return { at: point.at, ...decision };
  });
}

/** One point every `periodMs` from `fromMs` (inclusive) to `toMs` (inclusive), all at one demand. */
export function steady(
  fromMs: number,
  toMs: number,
  inFlight: number,
  periodMs = 1000,
): DemandPoint[] {
  const points: DemandPoint[] = [];
  for (let at = fromMs; at <= toMs; at += periodMs) points.push({ at, inFlight });
  return points;
}

/** The replicas one sample's demand wants, by integer arithmetic (independent of the library). */
export function wantedFor(
  demand: number,
  maxConcurrentPerReplica: number,
  targetPercent: number,
): number {
  const top = BigInt(demand) * 100n;
  const bottom = BigInt(maxConcurrentPerReplica) * BigInt(targetPercent);
  return Number((top + bottom - 1n) / bottom);
}
