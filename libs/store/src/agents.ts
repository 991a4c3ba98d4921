import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import { guarded } from './redis.js';

/** An agent of a compute target, as it registered, with its last heartbeat. */
export interface AgentRecord {
  workspace: string;
  compute: string;
  /** Unique per compute target: the node (or host) name. */
  nodeName: string;
  agentVersion: string;
  capacity: { cpu: number; memoryInGB: number; gpu: number; fpga: number };
  labels: Record<string, string>;
  registeredAt: string;
  /** ISO time of the last registration or replica report. */
  lastSeen: string;
}

/** One replica an agent reported (the API's ReplicaStatus, in plain fields). */
export interface ReplicaReport {
  workspace: string;
  service: string;
  generation: number;
  replicaId: string;
  address: string;
  phase: 'starting' | 'ready' | 'failed' | 'terminating';
  inFlight: number;
  maxConcurrent: number;
  nodeName: string;
  startTime: string;
  restartCount: number;
  message: string;
}

/**
 * Agents of each compute target and the replicas each one runs. An agent's replica report
 * is one snapshot (a node's replicas) kept with a time to live: an agent that stops
 * reporting takes its replicas out of every view when the snapshot expires.
 */
export class AgentStore {
  constructor(private readonly redis: Redis) {}

  /** Records a registration or heartbeat (keeps `registeredAt` of an earlier one). */
  async heartbeat(record: AgentRecord): Promise<void> {
    await guarded(async () => {
      const key = keys.agents(record.workspace, record.compute);
      const previous = await this.redis.hget(key, record.nodeName);
      const registeredAt = previous
        ? (JSON.parse(previous) as AgentRecord).registeredAt
        : record.registeredAt;
      await this.redis.hset(key, record.nodeName, JSON.stringify({ ...record, registeredAt }));
    });
  }

  /** Refreshes an agent's last-seen time; false when it never registered. */
  async touch(workspace: string, compute: string, nodeName: string, now: Date): Promise<boolean> {
    return guarded(async () => {
      const key = keys.agents(workspace, compute);
      const raw = await this.redis.hget(key, nodeName);
      if (raw === null) return false;
      const record = JSON.parse(raw) as AgentRecord;
      await this.redis.hset(
        key,
        nodeName,
        JSON.stringify({ ...record, lastSeen: now.toISOString() }),
      );
      return true;
    });
  }

  async list(workspace: string, compute: string): Promise<AgentRecord[]> {
    return guarded(async () =>
      (await this.redis.hvals(keys.agents(workspace, compute))).map(
        (raw) => JSON.parse(raw) as AgentRecord,
      ),
    );
  }

  /** Replaces an agent's replica snapshot; it expires after `ttlMs` without a new one. */
  async saveReplicas(
    workspace: string,
    compute: string,
    nodeName: string,
    replicas: readonly ReplicaReport[],
    ttlMs: number,
  ): Promise<void> {
    await guarded(() =>
      this.redis.set(
        keys.agentReplicas(workspace, compute, nodeName),
        JSON.stringify(replicas),
        'PX',
        ttlMs,
      ),
    );
  }

  /** Every replica the compute target's live agents reported, optionally of one service. */
  async replicas(workspace: string, compute: string, service?: string): Promise<ReplicaReport[]> {
    return guarded(async () => {
      const nodes = await this.redis.hkeys(keys.agents(workspace, compute));
      if (nodes.length === 0) return [];
      const snapshots = await this.redis.mget(
        nodes.map((node) => keys.agentReplicas(workspace, compute, node)),
      );
      const all = snapshots.flatMap((raw) =>
        raw === null ? [] : (JSON.parse(raw) as ReplicaReport[]),
      );
      return service === undefined ? all : all.filter((replica) => replica.service === service);
    });
  }

  /** Forgets every agent of a compute target (it was detached). */
  async forget(workspace: string, compute: string): Promise<void> {
    await guarded(async () => {
      const nodes = await this.redis.hkeys(keys.agents(workspace, compute));
      await this.redis.unlink(
        keys.agents(workspace, compute),
        ...nodes.map((node) => keys.agentReplicas(workspace, compute, node)),
      );
    });
  }
}
