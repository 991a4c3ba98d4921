import { WebserviceSpec } from '@skiff/proto';
import type { AgentRecord, ServiceRecord } from '@skiff/store';

/** What one replica of a service asks a node for. */
interface ReplicaRequest {
  readonly cpu: number;
  readonly memoryInGB: number;
  readonly gpu: number;
}

function requestOf(record: ServiceRecord): ReplicaRequest {
  const r = WebserviceSpec.fromJSON(record.spec).deploymentConfig?.containerResourceRequirements;
  return { cpu: r?.cpu ?? 0, memoryInGB: r?.memoryInGb ?? 0, gpu: r?.gpu ?? 0 };
}

/** The most replicas of `record` the compute target can place, and why no more. */
export interface Placement {
  /** Infinity when the agents report no capacity (nothing to bound by). */
  readonly replicas: number;
  /** e.g. "cpu: 2 cores on 1 node, 0.5 used by other services, 0.5 per replica". */
  readonly limitedBy: string;
}

const UNBOUNDED: Placement = { replicas: Infinity, limitedBy: 'no capacity reported' };

/**
 * How many replicas of `record` fit beside the other services' desired replicas, summed over
 * the live agents' capacity (SPEC.md §4: never beyond what the cluster can place). Resources
 * the agents report as 0 (unknown) do not bound; a service that requests none is unbounded.
 * Summed per resource over nodes: a replica never spans nodes, so this is an upper bound.
 */
export function placeable(
  record: ServiceRecord,
  others: readonly ServiceRecord[],
  agents: readonly AgentRecord[],
): Placement {
  const own = requestOf(record);
  // Each spec is parsed once, not once per resource.
  const requests = others.map((other) => ({
    request: requestOf(other),
    count: other.desiredReplicas,
  }));
  const capacityOf: Record<keyof ReplicaRequest, (agent: AgentRecord) => number> = {
    cpu: (agent) => agent.capacity.cpu,
    memoryInGB: (agent) => agent.capacity.memoryInGB,
    gpu: (agent) => agent.capacity.gpu,
  };
  let best: Placement = UNBOUNDED;
  for (const field of Object.keys(capacityOf) as (keyof ReplicaRequest)[]) {
    const total = agents.reduce((sum, agent) => sum + capacityOf[field](agent), 0);
    if (total <= 0 || own[field] <= 0) continue;
    const used = requests.reduce((sum, { request, count }) => sum + request[field] * count, 0);
    // A small epsilon keeps 4 × 0.5 on 2 cores from losing a replica to rounding.
    const fits = Math.max(0, Math.floor((total - used) / own[field] + 1e-9));
    if (fits < best.replicas) {
      best = {
        replicas: fits,
        limitedBy: `${field}: ${round(total)} on ${agents.length} node(s), ${round(used)} used by other services, ${round(own[field])} per replica`,
      };
    }
  }
  return best;
}

const round = (value: number) => Math.round(value * 1000) / 1000;
