// Keep-alive connection pools to replicas: one http.Agent per replica address, dropped when
// the address leaves the routing table.
import { Agent } from 'node:http';
import type { RouteTable } from './table.js';

/** Options of {@link UpstreamAgents}. */
export interface UpstreamAgentsOptions {
  /** Idle keep-alive sockets kept per replica. */
  readonly maxFreeSockets: number;
  /**
   * Idle sockets close after this long: below node:http's default server keep-alive timeout
   * (5 s), so the router, not the replica, closes an idle connection and never sends on one
   * the replica is closing.
   */
  readonly freeSocketTimeoutMs?: number;
}

/** The pools, by replica address. */
export class UpstreamAgents {
  readonly #agents = new Map<string, Agent>();
  readonly #options: UpstreamAgentsOptions;

  constructor(options: UpstreamAgentsOptions) {
    this.#options = options;
  }

  /** The pool of `address` (`host:port`). */
  for(address: string): Agent {
    let agent = this.#agents.get(address);
    if (!agent) {
      agent = new Agent({
        keepAlive: true,
        maxFreeSockets: this.#options.maxFreeSockets,
        timeout: this.#options.freeSocketTimeoutMs ?? 4_000,
        scheduling: 'lifo',
      });
      this.#agents.set(address, agent);
    }
    return agent;
  }

  /** Closes the pools of addresses no longer in `table` (their requests in flight finish). */
  retain(table: RouteTable): void {
    const live = new Set<string>();
    for (const endpoint of table.services.values()) {
      for (const replica of endpoint.replicas) live.add(replica.address);
    }
    for (const [address, agent] of this.#agents) {
      if (live.has(address)) continue;
      this.#agents.delete(address);
      // Only idle sockets go now; busy ones are not returned to a destroyed agent's pool.
      for (const sockets of Object.values(agent.freeSockets)) {
        for (const socket of sockets ?? []) socket.destroy();
      }
    }
  }

  /** Closes every pool and socket. */
  destroy(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}
