/**
 * The contract between the agent and a runtime (local processes, Kubernetes). Everything the
 * agent decides — which generation, how many replicas, when a deploy has failed — sits above
 * it and is shared by both runtimes; a driver only makes the runtime match what it is told
 * and reports what exists. Drivers are level-triggered: every call reads what exists (by
 * labels / state directories, never from memory) and acts on the difference, so an agent
 * killed at any line and run again converges to the same result.
 */

/** A service's identity on a compute target. */
export interface ServiceKey {
  readonly workspace: string;
  readonly service: string;
}

/** Requests and limits of one replica (SPEC.md §1 containerResourceRequirements). */
export interface ReplicaResources {
  /** Cores requested. */
  readonly cpu: number;
  readonly memoryInGB: number;
  readonly cpuLimit?: number;
  readonly memoryInGBLimit?: number;
  /** `nvidia.com/gpu`. */
  readonly gpu: number;
  /** FPGA as a generic extended resource. */
  readonly fpga: number;
}

/** livenessProbeRequirements, in seconds. */
export interface LivenessSettings {
  readonly periodSeconds: number;
  readonly initialDelaySeconds: number;
  readonly timeoutSeconds: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

/** One model a replica finds under AZUREML_MODEL_DIR. */
export interface ModelPlacement {
  readonly name: string;
  readonly version: number;
  /** Tree digest (libs/hashing modelDigest). */
  readonly digest: string;
  /** Local runtime: the unpacked model directory on this node. */
  readonly path?: string;
}

/** Everything needed to run the replicas of one service generation. */
export interface WorkloadSpec extends ServiceKey {
  readonly generation: number;
  readonly replicas: number;
  /** Kubernetes namespace (DNS label). */
  readonly namespace: string;
  /** The environment hash (the image tag). */
  readonly environmentHash: string;
  /** Kubernetes: the resolved image reference (`registry/repo:tag` or `@sha256:`). */
  readonly image: string;
  /** Entry script path relative to the source directory. */
  readonly entryScript: string;
  readonly runtime: 'python' | 'javascript';
  /** Local runtime: the unpacked source snapshot on this node. */
  readonly sourceDir?: string;
  /** Snapshot digest ("sha256:<hex>"), '' when the deployment has none. */
  readonly snapshotDigest: string;
  readonly models: readonly ModelPlacement[];
  readonly environmentVariables: Readonly<Record<string, string>>;
  readonly resources: ReplicaResources;
  readonly liveness: LivenessSettings;
  readonly maxConcurrentRequests: number;
  readonly scoringTimeoutMs: number;
  readonly dataCollection: boolean;
}

/** Where a replica stands (the API's ReplicaPhase). */
export type ReplicaPhase = 'starting' | 'ready' | 'failed' | 'terminating';

/** One replica as it exists in the runtime now. */
export interface Replica extends ServiceKey {
  readonly generation: number;
  /** Stable id: pod name, or the local replica's directory name. */
  readonly id: string;
  /** host:port the router sends requests to; '' until known. */
  readonly address: string;
  readonly phase: ReplicaPhase;
  /** Requests being served now (from the scoring server's /metrics); 0 when unknown. */
  readonly inFlight: number;
  readonly maxConcurrent: number;
  readonly nodeName: string;
  readonly startTime: Date;
  readonly restartCount: number;
  /** Why it is failed or restarting, e.g. "init() raised ValueError"; '' otherwise. */
  readonly message: string;
}

/** One line a replica wrote. */
export interface ReplicaLogLine {
  readonly replicaId: string;
  readonly time: Date;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/**
 * A runtime the agent drives. Implementations: `LocalProcessDriver` (replicas as child
 * processes on this machine) and `KubernetesDriver` (a Deployment + Service per web service).
 */
export interface WorkloadDriver {
  /**
   * Makes the service run `spec.generation` with `spec.replicas` replicas. A new generation
   * rolls over without failing a request: new replicas start, and only once they are ready do
   * the old ones leave routing (TERMINATING), drain and stop (maxUnavailable 0). Applying the
   * generation that runs already only changes the replica count. Returns once the change is
   * made, not once replicas are ready (see {@link listReplicas}).
   */
  apply(spec: WorkloadSpec): Promise<void>;
  /** Sets the replica count of the generation that runs; scale-down drains before stopping. */
  scale(key: ServiceKey, replicas: number): Promise<void>;
  /** Removes every replica and resource of the service; idempotent. */
  delete(key: ServiceKey): Promise<void>;
  /** The replicas of one service, or of every service when `key` is undefined. */
  listReplicas(key?: ServiceKey): Promise<Replica[]>;
  /** The last `lines` log lines of a service's replicas, oldest first. */
  tailLogs(key: ServiceKey, lines: number): Promise<ReplicaLogLine[]>;
  /**
   * Calls `onLines` with every new log line of every replica from now on, until the returned
   * function is called.
   */
  followLogs(onLines: (key: ServiceKey, lines: ReplicaLogLine[]) => void): () => void;
  /** Stops background work (watches, supervisors); replicas keep running. */
  close(): Promise<void>;
}
