// A current view of the pods matching a selector: list, then watch from the list's
// resourceVersion with bookmarks. A 410 Gone (the version fell out of the API server's history)
// means relist; a watch that ends or fails is resumed from the last version seen; a watch that
// stays silent for too long (no event, not even a bookmark) is presumed stuck behind a dead
// connection and restarted.
import { CoreV1Api, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

/** Options of {@link PodWatch}. */
export interface PodWatchOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  /** `labelSelector` of the pods to keep. */
  readonly labelSelector: string;
  /** `fieldSelector`, e.g. `spec.nodeName=<node>` for a DaemonSet's own node; default none. */
  readonly fieldSelector?: string;
  /**
   * Restart the watch when nothing arrived for this long. API servers send a bookmark about
   * once a minute on a watch that allows them, so a silence of several minutes means a dead
   * connection. Default 300 000 ms.
   */
  readonly silenceTimeoutMs?: number;
  /** Wait before listing or watching again after a failure; default 1 000 ms. */
  readonly retryDelayMs?: number;
  /** Called after every change of the view (event or relist), with all pods. */
  readonly onChange?: (pods: readonly V1Pod[]) => void;
  /** Called with every failure the watch recovers from (for logs). */
  readonly onError?: (error: unknown) => void;
}

type Outcome = 'expired' | 'ended' | 'silent' | 'failed' | 'stopped';

interface WatchStatus {
  readonly code?: number;
  readonly message?: string;
}

/** A list-then-watch of pods, kept current until {@link PodWatch.stop}. */
export class PodWatch {
  readonly #pods = new Map<string, V1Pod>();
  readonly #core: CoreV1Api;
  readonly #watch: Watch;
  #resourceVersion = '';
  #stopped = false;
  #abort: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(private readonly options: PodWatchOptions) {
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#watch = new Watch(options.kubeConfig);
  }

  /** The pods of the view now. */
  get pods(): V1Pod[] {
    return [...this.#pods.values()];
  }

  /** The last resourceVersion seen (from the list, an event or a bookmark). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /**
   * Lists once (rejecting if that fails: a misconfigured namespace or Role should surface at
   * start), then keeps watching in the background.
   */
  async start(): Promise<void> {
    await this.#list();
    this.#loop = this.#run();
  }

  /** Stops watching; the view stays as it was. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.();
    this.#wake?.();
    await this.#loop;
  }

  async #list(): Promise<void> {
    const list = await this.#core.listNamespacedPod({
      namespace: this.options.namespace,
      labelSelector: this.options.labelSelector,
      ...(this.options.fieldSelector ? { fieldSelector: this.options.fieldSelector } : {}),
    });
    this.#pods.clear();
    for (const pod of list.items) if (pod.metadata?.uid) this.#pods.set(pod.metadata.uid, pod);
    this.#resourceVersion = list.metadata?.resourceVersion ?? '';
    this.options.onChange?.(this.pods);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    let relist = false;
    while (!this.#stopped) {
      if (relist) {
        try {
          await this.#list();
          relist = false;
        } catch (error) {
          this.options.onError?.(error);
          await this.#sleep(this.options.retryDelayMs ?? 1_000);
          continue;
        }
      }
      const outcome = await this.#watchOnce();
      if (outcome === 'expired') relist = true;
      else if (outcome === 'failed') await this.#sleep(this.options.retryDelayMs ?? 1_000);
    }
  }

  #apply(type: string, pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    if (type === 'DELETED') this.#pods.delete(uid);
    else this.#pods.set(uid, pod);
    this.options.onChange?.(this.pods);
  }

  #watchOnce(): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let finished = false;
      let silence: NodeJS.Timeout | undefined;
      let controller: AbortController | undefined;
      const finish = (outcome: Outcome, error?: unknown) => {
        if (finished) return;
        finished = true;
        clearTimeout(silence);
        this.#abort = undefined;
        controller?.abort();
        if (error !== undefined && outcome !== 'stopped') this.options.onError?.(error);
        resolve(outcome);
      };
      const arm = () => {
        clearTimeout(silence);
        silence = setTimeout(
          () =>
            finish(
              'silent',
              new Error(
                `no watch event for ${this.options.silenceTimeoutMs ?? 300_000} ms; restarting the watch`,
              ),
            ),
          this.options.silenceTimeoutMs ?? 300_000,
        );
      };
      this.#abort = () => finish('stopped');
      if (this.#stopped) return finish('stopped');
      arm();
      this.#watch
        .watch(
          `/api/v1/namespaces/${encodeURIComponent(this.options.namespace)}/pods`,
          {
            resourceVersion: this.#resourceVersion,
            allowWatchBookmarks: true,
            labelSelector: this.options.labelSelector,
            ...(this.options.fieldSelector ? { fieldSelector: this.options.fieldSelector } : {}),
          },
          (type: string, object: unknown) => {
            if (finished) return;
            arm();
            if (type === 'ERROR') {
              const status = object as WatchStatus;
              if (status.code === 410)
                finish('expired', new Error(`watch expired: ${status.message ?? '410 Gone'}`));
              else
                finish(
                  'failed',
                  new Error(`watch error ${status.code ?? '?'}: ${status.message ?? ''}`),
                );
              return;
            }
            const pod = object as V1Pod;
            const version = pod.metadata?.resourceVersion;
            if (version) this.#resourceVersion = version;
            if (type !== 'BOOKMARK') this.#apply(type, pod);
          },
          (error: unknown) => {
            if (!error) return finish('ended');
            const code = (error as { statusCode?: number }).statusCode;
            finish(code === 410 ? 'expired' : 'failed', error);
          },
        )
        .then(
          (c) => {
            controller = c;
            if (finished) c.abort();
          },
          (error: unknown) => finish('failed', error),
        );
    });
  }
}
