import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiServer, type AcceptedManifest } from './api.js';
import { ClusterControllers, type SimulatedNode } from './controllers.js';
import {
  handle,
  type HttpContext,
  type Interceptor,
  type OpenWatch,
  type RecordedRequest,
} from './http.js';
import type { JsonObject } from './json.js';
import { Kubelet, type ContainerProcess, type PodRunner } from './kubelet.js';
import { bookmark } from './watch.js';
import { resourceTypeOfKind } from './resources.js';
import { ObjectStore, type StoreEvent } from './store.js';

/** Options of {@link startKubernetesFake}; every one has a default. */
export interface KubernetesFakeOptions {
  /** Bearer token clients must send; default `skiff-fake-token`. */
  readonly token?: string;
  /** Namespaces created at start, besides `default` and `kube-system`. */
  readonly namespaces?: readonly string[];
  /** Simulated nodes; default one node, `node-1`. */
  readonly nodes?: readonly (string | SimulatedNode)[];
  /**
   * Starts each container of each scheduled pod. Default: none — containers "start" at once
   * with nothing listening, are Ready without probes, and Job containers exit 0.
   */
  readonly runner?: PodRunner;
  /** Change events kept for watches (etcd's compaction window); default 1000. */
  readonly historyLimit?: number;
  /** Milliseconds between BOOKMARK events on watches that allow them; default 1000, 0 = never. */
  readonly bookmarkIntervalMs?: number;
  /**
   * Milliseconds per simulated second for probe periods and delays, restart back-off and
   * termination grace periods; default 10 (a 10 s probe period runs every 100 ms).
   */
  readonly secondMs?: number;
}

/** A Kubernetes API server on 127.0.0.1 with a simulated control plane and kubelets. */
export interface KubernetesFake {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** A KubeConfig for @kubernetes/client-node pointing at the fake, with its token. */
  readonly kubeConfig: KubeConfig;
  readonly token: string;
  /** Every manifest accepted from a client, oldest first. */
  readonly accepted: readonly AcceptedManifest[];
  /** Every request received, oldest first. */
  readonly requests: readonly RecordedRequest[];
  /** Every change to every object since start (unbounded), oldest first. */
  readonly events: readonly StoreEvent[];
  /** The object, read directly (no request recorded), or undefined. */
  object(kind: string, namespace: string, name: string): JsonObject | undefined;
  /** Objects of a kind, optionally in one namespace, read directly. */
  objects(kind: string, namespace?: string): JsonObject[];
  /**
   * Resolves once `condition` holds, checked now, after every change and every 20 ms; rejects after
   * `timeoutMs` (default 10 s) with `description`. A bound on failing, never a measurement.
   */
  until(condition: () => boolean, description: string, timeoutMs?: number): Promise<void>;
  /** Forgets the watch history: a watch or exact list from any older version gets 410. */
  compactHistory(): void;
  /** Ends every open watch stream (as an API server restart or a load balancer would). */
  closeWatches(): void;
  /** Open watches stay connected but receive nothing any more, not even bookmarks. */
  muteWatches(): void;
  /** Sends a BOOKMARK now on every open watch that allows bookmarks. */
  sendBookmarks(): void;
  /** Adds a request interceptor (fault injection); returns its removal. */
  intercept(interceptor: Interceptor): () => void;
  /** Appends lines to a running container's log. */
  appendLog(namespace: string, pod: string, lines: readonly string[], container?: string): void;
  /** The process of a running container (from the runner), e.g. to kill it. */
  containerProcess(
    namespace: string,
    pod: string,
    container?: string,
  ): ContainerProcess | undefined;
  /** Creates a namespace directly. */
  createNamespace(name: string): void;
  /** Stops the server, the controllers and every container. */
  close(): Promise<void>;
}

/**
 * Starts the fake on a kernel-assigned port of 127.0.0.1. Every object written through it is
 * validated with kubernetes-models; see README.md for what it models and what it does not.
 */
export async function startKubernetesFake(
  options: KubernetesFakeOptions = {},
): Promise<KubernetesFake> {
  const token = options.token ?? 'skiff-fake-token';
  const store = new ObjectStore(options.historyLimit ?? 1_000);
  const errors: unknown[] = [];
  const hooks: { controllers?: ClusterControllers } = {};
  const api = new ApiServer(store, {
    beforeRemove: (_type, object, policy) => hooks.controllers?.recordPropagation(object, policy),
  });
  const nodes = (options.nodes ?? ['node-1']).map((n) => (typeof n === 'string' ? { name: n } : n));
  const controllers = new ClusterControllers(api, store, nodes, (error) => errors.push(error));
  hooks.controllers = controllers;
  const kubelet = new Kubelet(store, options.runner, { secondMs: options.secondMs ?? 10 });
  const namespaceType = resourceTypeOfKind('Namespace');
  const createNamespace = (name: string) => {
    if (!store.get(namespaceType, '', name)) {
      api.create(
        namespaceType,
        '',
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
        { internal: true },
      );
    }
  };
  for (const name of ['default', 'kube-system', ...(options.namespaces ?? [])])
    createNamespace(name);

  const requests: RecordedRequest[] = [];
  const interceptors = new Set<Interceptor>();
  const watches = new Set<OpenWatch>();
  const context: HttpContext = {
    api,
    store,
    kubelet,
    token,
    requests,
    interceptors,
    watches,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1_000,
  };
  const server: Server = createServer((request, response) => {
    void handle(context, request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'skiff-fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'skiff-fake', token }],
    contexts: [
      { name: 'skiff-fake', cluster: 'skiff-fake', user: 'skiff-fake', namespace: 'default' },
    ],
    currentContext: 'skiff-fake',
  });

  return {
    url,
    kubeConfig,
    token,
    accepted: api.accepted,
    requests,
    events: store.journal,
    object: (kind, namespace, name) => {
      const type = resourceTypeOfKind(kind);
      return store.get(type, type.namespaced ? namespace : '', name);
    },
    objects: (kind, namespace) => store.list(resourceTypeOfKind(kind), namespace),
    until: (condition, description, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (errors.length > 0) {
            finish();
            reject(new Error(`the Kubernetes fake failed: ${String(errors[0])}`));
            return;
          }
          if (condition()) {
            finish();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`timed out waiting for ${description}`));
        }, timeoutMs);
        const unsubscribe = store.subscribe(() => setImmediate(check));
        // Conditions may also depend on things outside the store (what a client has seen).
        const poll = setInterval(check, 20);
        const finish = () => {
          clearTimeout(timer);
          clearInterval(poll);
          unsubscribe();
        };
        check();
      }),
    compactHistory: () => store.compact(),
    closeWatches: () => [...watches].forEach((w) => w.close()),
    muteWatches: () => watches.forEach((w) => (w.muted = true)),
    sendBookmarks: () => {
      for (const w of watches)
        if (w.bookmarks) w.send(bookmark(w.filter.resource, store.resourceVersion));
    },
    intercept: (interceptor) => {
      interceptors.add(interceptor);
      return () => interceptors.delete(interceptor);
    },
    appendLog: (namespace, pod, lines, container) =>
      kubelet.appendLog(namespace, pod, lines, container),
    containerProcess: (namespace, pod, container) => kubelet.processOf(namespace, pod, container),
    createNamespace,
    close: async () => {
      controllers.stop();
      [...watches].forEach((w) => w.close());
      await kubelet.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
