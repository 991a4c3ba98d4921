import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  SkiffError,
  UnavailableError,
} from '@skiff/errors';
import type {
  Replica,
  ReplicaLogLine,
  ServiceKey,
  WorkloadDriver,
  WorkloadSpec,
} from '../driver.js';
import { LogFollower, parseTimedLine, replicaLine, splitLines, type TimedLine } from './logs.js';
import {
  deploymentManifest,
  FIELD_MANAGER,
  labelSelector,
  SCORING_CONTAINER,
  serviceManifest,
  workloadName,
  type ManifestOptions,
} from './manifests.js';
import { PodWatch } from './pod-watch.js';
import { replicaOf, scoringStatus, sortReplicas } from './replicas.js';

/** What the driver logs (pino's signature, without depending on pino). */
export interface KubernetesDriverLogger {
  warn(fields: object, message: string): void;
}

/** Options of {@link KubernetesDriver.connect}. */
export interface KubernetesDriverOptions {
  /** The cluster and credentials (in a pod: `kubeConfig.loadFromCluster()`). */
  readonly kubeConfig: KubeConfig;
  /**
   * Namespaces whose services this agent manages, each granted by the agent's Role there.
   * `apply` refuses a spec in another namespace; scale, delete and the listings look in
   * these only. At least one.
   */
  readonly namespaces: readonly string[];
  /**
   * This node's name (SKIFF_NODE_NAME, from the downward API). When set, the replica watch
   * and followLogs see only pods on this node (`fieldSelector=spec.nodeName=<node>`), as a
   * DaemonSet agent reports and ships only its own node's replicas. Default: every node.
   */
  readonly nodeName?: string;
  /** Server-side apply field manager; default {@link FIELD_MANAGER}. */
  readonly fieldManager?: string;
  /** How manifests are built (cache paths, port, FPGA resource name, pull secrets). */
  readonly manifests?: ManifestOptions;
  /** Restart a pod watch silent for this long; default 300 000 ms (see PodWatch). */
  readonly watchSilenceTimeoutMs?: number;
  /** Delay before a failed watch, list or log follow is retried; default 1 000 ms. */
  readonly retryDelayMs?: number;
  /** Default: warnings are dropped. */
  readonly logger?: KubernetesDriverLogger;
}

const APPLY = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The Status message of an API error, or the error's own first line. */
function statusMessage(error: unknown): string {
  if (error instanceof ApiException) {
    try {
      const body = JSON.parse(String(error.body)) as { message?: unknown };
      if (typeof body.message === 'string') return body.message;
    } catch {
      // not a Status body
    }
    return `HTTP ${error.code}`;
  }
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}

function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/** An API failure as the domain error the agent reports (the ApiException as cause). */
function domainError(error: unknown, what: string): SkiffError {
  if (error instanceof SkiffError) return error;
  const message = `${what}: ${statusMessage(error)}`;
  if (error instanceof ApiException) {
    if (error.code === 404) return new NotFoundError(message, { cause: error });
    if (error.code === 400 || error.code === 422)
      return new InvalidArgumentError(message, { cause: error });
    if (error.code === 401 || error.code === 403) {
      return new FailedPreconditionError(`${message} (check the agent's ServiceAccount and Role)`, {
        cause: error,
      });
    }
  }
  return new UnavailableError(message, { cause: error });
}

/**
 * Runs each web service as a Deployment and a Service (see manifests.ts), with server-side
 * apply under one field manager and strict field validation, scales through the scale
 * subresource, and reads replicas and logs from pods. Level-triggered: every call reads what
 * exists by label; nothing is remembered between calls except the optional watches.
 */
export class KubernetesDriver implements WorkloadDriver {
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #fieldManager: string;
  readonly #watches = new Map<string, PodWatch>();
  readonly #listeners = new Set<(replicas: Replica[]) => void>();
  readonly #followers = new Set<LogFollower>();
  #watching: Promise<void> | undefined;

  protected constructor(private readonly options: KubernetesDriverOptions) {
    this.#apps = options.kubeConfig.makeApiClient(AppsV1Api);
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#fieldManager = options.fieldManager ?? FIELD_MANAGER;
  }

  /**
   * A driver for the cluster of `options.kubeConfig`. Lists skiff's pods once in every
   * namespace, so a missing namespace or Role fails here, not at the first deploy.
   */
  static async connect(options: KubernetesDriverOptions): Promise<KubernetesDriver> {
    if (options.namespaces.length === 0)
      throw new InvalidArgumentError('namespaces: at least one namespace to manage');
    const driver = new KubernetesDriver(options);
    for (const namespace of options.namespaces) {
      try {
        await driver.#core.listNamespacedPod({
          namespace,
          labelSelector: labelSelector(),
          limit: 1,
        });
      } catch (error) {
        throw domainError(error, `listing pods in namespace ${namespace}`);
      }
    }
    return driver;
  }

  async apply(spec: WorkloadSpec): Promise<void> {
    if (!this.options.namespaces.includes(spec.namespace)) {
      throw new FailedPreconditionError(
        `namespace ${spec.namespace} is not managed by this agent (it manages ${this.options.namespaces.join(', ')}): add it to the agent's namespaces and grant its Role there`,
        { field: 'namespace' },
      );
    }
    const name = workloadName(spec);
    const common = {
      name,
      namespace: spec.namespace,
      fieldManager: this.#fieldManager,
      fieldValidation: 'Strict',
      force: true,
    };
    try {
      await this.#core.patchNamespacedService(
        { ...common, body: serviceManifest(spec, this.options.manifests) },
        APPLY,
      );
      await this.#apps.patchNamespacedDeployment(
        { ...common, body: deploymentManifest(spec, this.options.manifests) },
        APPLY,
      );
    } catch (error) {
      throw domainError(
        error,
        `applying ${spec.workspace}/${spec.service} generation ${spec.generation} in ${spec.namespace}`,
      );
    }
    // A service whose namespace changed leaves nothing behind in the old one.
    for (const namespace of this.options.namespaces) {
      if (namespace !== spec.namespace) await this.#deleteIn(namespace, spec);
    }
  }

  async scale(key: ServiceKey, replicas: number): Promise<void> {
    const name = workloadName(key);
    for (const namespace of this.options.namespaces) {
      try {
        await this.#apps.patchNamespacedDeploymentScale(
          { name, namespace, body: { spec: { replicas } }, fieldManager: this.#fieldManager },
          MERGE,
        );
        return;
      } catch (error) {
        if (!isStatus(error, 404))
          throw domainError(error, `scaling ${key.workspace}/${key.service} to ${replicas}`);
      }
    }
    throw new NotFoundError(
      `service ${key.workspace}/${key.service} has no Deployment in ${this.options.namespaces.join(', ')}`,
    );
  }

  async delete(key: ServiceKey): Promise<void> {
    for (const namespace of this.options.namespaces) await this.#deleteIn(namespace, key);
  }

  async #deleteIn(namespace: string, key: ServiceKey): Promise<void> {
    const selector = labelSelector(key);
    try {
      // Background propagation: the garbage collector removes ReplicaSets and pods, which
      // drain (terminationGracePeriodSeconds) on their own.
      await this.#apps.deleteCollectionNamespacedDeployment({
        namespace,
        labelSelector: selector,
        propagationPolicy: 'Background',
      });
      // Services: list + delete, as older API servers have no deletecollection for them.
      const services = await this.#core.listNamespacedService({
        namespace,
        labelSelector: selector,
      });
      for (const service of services.items) {
        const name = service.metadata?.name;
        if (!name) continue;
        try {
          await this.#core.deleteNamespacedService({ name, namespace });
        } catch (error) {
          if (!isStatus(error, 404)) throw error;
        }
      }
    } catch (error) {
      throw domainError(error, `deleting ${key.workspace}/${key.service} in ${namespace}`);
    }
  }

  async #pods(key?: ServiceKey): Promise<V1Pod[]> {
    const pods: V1Pod[] = [];
    for (const namespace of this.options.namespaces) {
      try {
        const list = await this.#core.listNamespacedPod({
          namespace,
          labelSelector: labelSelector(key),
        });
        pods.push(...list.items);
      } catch (error) {
        throw domainError(error, `listing pods in ${namespace}`);
      }
    }
    return pods;
  }

  async listReplicas(key?: ServiceKey): Promise<Replica[]> {
    const replicas = (await this.#pods(key)).flatMap((pod) => {
      const replica = replicaOf(pod);
      return replica ? [replica] : [];
    });
    return sortReplicas(replicas);
  }

  async tailLogs(key: ServiceKey, lines: number): Promise<ReplicaLogLine[]> {
    if (lines <= 0) return [];
    const pods = await this.#pods(key);
    const collected: { pod: V1Pod; line: TimedLine }[] = [];
    await Promise.all(
      pods.map(async (pod) => {
        const status = scoringStatus(pod);
        if (!status) return;
        // A container waiting to restart has nothing now; what it wrote before it died is
        // what explains the failure.
        const previous =
          status.state?.running === undefined &&
          status.state?.terminated === undefined &&
          status.restartCount > 0;
        if (
          !previous &&
          status.state?.running === undefined &&
          status.state?.terminated === undefined
        )
          return;
        try {
          const body = await this.#core.readNamespacedPodLog({
            name: pod.metadata?.name ?? '',
            namespace: pod.metadata?.namespace ?? '',
            container: SCORING_CONTAINER,
            tailLines: lines,
            timestamps: true,
            ...(previous ? { previous: true } : {}),
          });
          const fallback = new Date();
          for (const text of splitLines(String(body)))
            collected.push({ pod, line: parseTimedLine(text, fallback) });
        } catch (error) {
          // 400: the container is not running (any more); 404: the pod just went away.
          if (!isStatus(error, 400) && !isStatus(error, 404))
            throw domainError(error, `reading the log of ${pod.metadata?.name ?? ''}`);
        }
      }),
    );
    collected.sort((a, b) =>
      a.line.nanos < b.line.nanos ? -1 : a.line.nanos > b.line.nanos ? 1 : 0,
    );
    return collected.slice(-lines).map(({ pod, line }) => replicaLine(pod, line));
  }

  followLogs(onLines: (key: ServiceKey, lines: ReplicaLogLine[]) => void): () => void {
    const follower = new LogFollower(
      this.options.kubeConfig,
      onLines,
      this.options.retryDelayMs ?? 1_000,
      (error) => this.options.logger?.warn({ err: error }, 'replica log follow failed; retrying'),
    );
    this.#followers.add(follower);
    const listener = () => follower.update(this.#viewPods());
    this.#listeners.add(listener);
    void this.#startWatches().then(listener, (error: unknown) =>
      this.options.logger?.warn({ err: error }, 'replica watch failed to start'),
    );
    return () => {
      this.#listeners.delete(listener);
      this.#followers.delete(follower);
      follower.close();
    };
  }

  /**
   * Calls `onChange` with the replicas of every managed service — on this node only when a
   * node name is configured — whenever a pod changes, from a watch that survives expiry (410)
   * and silence. Resolves once the first listing is in; returns the unsubscribe function.
   */
  async watchReplicas(onChange: (replicas: Replica[]) => void): Promise<() => void> {
    const listener = () => onChange(this.#viewReplicas());
    this.#listeners.add(listener);
    try {
      await this.#startWatches();
    } catch (error) {
      this.#listeners.delete(listener);
      throw domainError(error, 'watching replicas');
    }
    listener();
    return () => this.#listeners.delete(listener);
  }

  #viewPods(): V1Pod[] {
    return [...this.#watches.values()].flatMap((w) => w.pods);
  }

  #viewReplicas(): Replica[] {
    return sortReplicas(
      this.#viewPods().flatMap((pod) => {
        const replica = replicaOf(pod);
        return replica ? [replica] : [];
      }),
    );
  }

  #startWatches(): Promise<void> {
    this.#watching ??= (async () => {
      const notify = () => {
        for (const listener of [...this.#listeners]) listener(this.#viewReplicas());
      };
      await Promise.all(
        this.options.namespaces.map(async (namespace) => {
          const watch = new PodWatch({
            kubeConfig: this.options.kubeConfig,
            namespace,
            labelSelector: labelSelector(),
            ...(this.options.nodeName
              ? { fieldSelector: `spec.nodeName=${this.options.nodeName}` }
              : {}),
            ...(this.options.watchSilenceTimeoutMs === undefined
              ? {}
              : { silenceTimeoutMs: this.options.watchSilenceTimeoutMs }),
            retryDelayMs: this.options.retryDelayMs ?? 1_000,
            onChange: () => {
              if (this.#watches.has(namespace)) notify();
            },
            onError: (error) =>
              this.options.logger?.warn(
                { err: error, namespace },
                'pod watch interrupted; resuming',
              ),
          });
          await watch.start();
          this.#watches.set(namespace, watch);
        }),
      );
    })().catch(async (error: unknown) => {
      // Let a later call try again; stop what did start.
      this.#watching = undefined;
      await Promise.all([...this.#watches.values()].map((w) => w.stop()));
      this.#watches.clear();
      throw error;
    });
    return this.#watching;
  }

  async close(): Promise<void> {
    for (const follower of this.#followers) follower.close();
    this.#followers.clear();
    this.#listeners.clear();
    await this.#watching?.catch(() => undefined);
    await Promise.all([...this.#watches.values()].map((w) => w.stop()));
    this.#watches.clear();
    this.#watching = undefined;
  }
}
