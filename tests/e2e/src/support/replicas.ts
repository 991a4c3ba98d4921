// What the agents report about their replicas, read where the control plane keeps it, and a
// replica scored directly (not through a router).
import type { Redis } from 'ioredis';

/** One replica as an agent last reported it. */
export interface ReportedReplica {
  service: string;
  generation: number;
  replicaId: string;
  address: string;
  phase: string;
  restartCount: number;
  nodeName: string;
}

/** The scoring body of examples/iris-python: one setosa. */
export const SAMPLE = { data: [[5.1, 3.5, 1.4, 0.2]] };

/**
 * The replicas of `service` that the agents of `nodes` last reported for workspace team-a's
 * `compute`, per the control plane's Redis (`state`, keys under `prefix`).
 */
export async function reportedReplicas(
  state: Redis,
  prefix: string,
  compute: string,
  nodes: readonly string[],
  service: string,
): Promise<ReportedReplica[]> {
  const all: ReportedReplica[] = [];
  for (const node of nodes) {
    const raw = await state.get(`${prefix}ws:team-a:compute:${compute}:agent:${node}:replicas`);
    all.push(...((raw ? JSON.parse(raw) : []) as ReportedReplica[]));
  }
  return all.filter((r) => r.service === service);
}

/** Scores {@link SAMPLE} on the replica at `address`; throws unless it answers 200. */
export async function scoreReplica(address: string): Promise<{ predictions: string[] }> {
  const response = await fetch(`http://${address}/score`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(SAMPLE),
  });
  if (!response.ok)
    throw new Error(`${address} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { predictions: string[] };
}
