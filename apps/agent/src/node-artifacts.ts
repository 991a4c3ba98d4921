import type { SkiffClient } from '@skiff/client';
import { SkiffApiError } from '@skiff/client';
import type { Replica } from '@skiff/workload';
import type { Logger } from 'pino';
import type { ArtifactCache } from './artifact-cache.js';

/** Options of {@link NodeArtifacts}. */
export interface NodeArtifactsOptions {
  client: SkiffClient;
  cache: ArtifactCache;
  workspace: string;
  log: Logger;
  /** How soon a failed fetch is tried again; default 2 000 ms. */
  retryMs?: number;
}

/**
 * Fills this node's artifact cache for the replicas scheduled here (Kubernetes runtime).
 *
 * Replica pods mount their snapshot and models from the node's cache (a hostPath, by
 * sub-path), and their init container waits until each has its `.complete` marker. The agent
 * that runs a deploy job fills its own node's cache, but the scheduler may put replicas on any
 * node; so every agent watches the pods of its node and, for each service generation starting
 * here, fetches that generation's artifacts (`GetDeployment` + `DownloadArtifact`, digest
 * verified) into its cache. Artifacts already there cost one stat each.
 */
export class NodeArtifacts {
  private readonly ready = new Set<string>();
  private readonly running = new Map<string, Promise<void>>();
  private replicas: readonly Replica[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly retryMs: number;

  constructor(private readonly options: NodeArtifactsOptions) {
    this.retryMs = options.retryMs ?? 2_000;
  }

  /** The replicas on this node now (from the node-scoped pod watch). */
  update(replicas: readonly Replica[]): void {
    this.replicas = replicas;
    const present = new Set(replicas.map(keyOf));
    // Forget what left the node: a later pod of it checks the cache again (it may be evicted).
    for (const key of this.ready) if (!present.has(key)) this.ready.delete(key);
    for (const replica of replicas) {
      const key = keyOf(replica);
      if (
        replica.workspace !== this.options.workspace ||
        replica.phase !== 'starting' ||
        this.ready.has(key) ||
        this.running.has(key)
      )
        continue;
      const work = this.provide(replica)
        .then(
          () => void this.ready.add(key),
          (error: unknown) =>
            this.options.log.warn(
              { err: error, service: replica.service, generation: replica.generation },
              'could not fetch the artifacts of replicas on this node; trying again',
            ),
        )
        .finally(() => this.running.delete(key));
      this.running.set(key, work);
    }
  }

  /** Retries failed fetches every `retryMs` (a pod waiting in its init container changes nothing). */
  start(): void {
    this.timer = setInterval(() => this.update(this.replicas), this.retryMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.running.values());
  }

  /** Resolves once every artifact of the replica's generation is complete in the cache. */
  private async provide(replica: Replica): Promise<void> {
    const { client, cache, workspace, log } = this.options;
    let deployment;
    try {
      deployment = await client.agents.getDeployment({ workspace, service: replica.service });
    } catch (error) {
      // A deleted service's pods are going away; nothing to fetch for them.
      if (error instanceof SkiffApiError && error.code === 'NOT_FOUND') return;
      throw error;
    }
    if (deployment.generation !== replica.generation) {
      // Only the latest generation's artifacts can be named; an older replica starting here
      // (a restart mid-rollout) finds them if this node had them, else the rollout replaces it.
      log.info(
        { service: replica.service, generation: replica.generation, latest: deployment.generation },
        'a replica of an older generation starts on this node; not fetching its artifacts',
      );
      return;
    }
    const snapshot = deployment.spec?.snapshotDigest;
    await Promise.all([
      snapshot ? cache.snapshot(snapshot) : undefined,
      ...deployment.models.map((model) => cache.model(model)),
    ]);
    log.info(
      { service: replica.service, generation: replica.generation },
      'artifacts of the replicas on this node are in its cache',
    );
  }
}

function keyOf(replica: Replica): string {
  return `${replica.workspace}/${replica.service}@${replica.generation}`;
}
