import { readFile } from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ConnectPolicy } from './connect.js';
import type { CheckContext, CheckOutcome, PodConnectData, PodEndpoint, PodsData } from './model.js';
import { tcpConnect } from './tcp.js';

/** A pod as the doctor needs it: where to connect. */
export interface ListedPod {
  readonly name: string;
  readonly ip?: string;
  /** The first container port the pod declares, if any. */
  readonly port?: number;
}

/** Lists pods by label; the Kubernetes API in production, a stub in tests. */
export interface PodLister {
  list(namespace: string, labelSelector: string): Promise<ListedPod[]>;
}

/** Kubernetes API access for the cluster-side checks. */
export interface KubernetesAccess {
  readonly pods: PodLister;
  /** PEM of the cluster CA (verifies the API server's certificate), when known. */
  readonly clusterCa?: string;
  /** The API server URL the access goes to (shown in reports). */
  readonly server: string;
}

// The client takes about a second to load; only runs with cluster access pay for it.
const client = () => import('@kubernetes/client-node');

async function accessFrom(
  config: KubeConfig,
  clusterCa: string | undefined,
): Promise<KubernetesAccess> {
  const { CoreV1Api } = await client();
  const api = config.makeApiClient(CoreV1Api);
  const cluster = config.getCurrentCluster();
  return {
    server: cluster?.server ?? '(unknown)',
    ...(clusterCa !== undefined ? { clusterCa } : {}),
    pods: {
      async list(namespace, labelSelector) {
        const list = await api.listNamespacedPod({ namespace, labelSelector });
        return list.items.map((pod) => {
          const port = pod.spec?.containers.flatMap((container) => container.ports ?? [])[0]
            ?.containerPort;
          return {
            name: pod.metadata?.name ?? '(unnamed)',
            ...(pod.status?.podIP !== undefined ? { ip: pod.status.podIP } : {}),
            ...(port !== undefined ? { port } : {}),
          };
        });
      },
    },
  };
}

async function clusterCaOf(config: KubeConfig): Promise<string | undefined> {
  const cluster = config.getCurrentCluster();
  if (cluster?.caData !== undefined) return Buffer.from(cluster.caData, 'base64').toString('utf8');
  if (cluster?.caFile !== undefined) return readFile(cluster.caFile, 'utf8');
  return undefined;
}

/** Kubernetes access from a kubeconfig file (its current context). */
export async function kubernetesAccessFromKubeconfig(path: string): Promise<KubernetesAccess> {
  const { KubeConfig } = await client();
  const config = new KubeConfig();
  config.loadFromString(await readFile(path, 'utf8'));
  return accessFrom(config, await clusterCaOf(config));
}

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Kubernetes access from inside a pod: `KUBERNETES_SERVICE_HOST`/`_PORT` from `env` (passed in,
 * not read from the process) and the service account's token and CA.
 */
export async function kubernetesAccessInCluster(
  env: Readonly<Record<string, string | undefined>>,
): Promise<KubernetesAccess> {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (host === undefined) throw new Error('not in a cluster: KUBERNETES_SERVICE_HOST is not set');
  const { KubeConfig } = await client();
  const config = new KubeConfig();
  config.loadFromClusterAndUser(
    {
      name: 'in-cluster',
      server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
      caFile: `${serviceAccountDir}/ca.crt`,
      skipTLSVerify: false,
    },
    {
      name: 'service-account',
      authProvider: { name: 'tokenFile', config: { tokenFile: `${serviceAccountDir}/token` } },
    },
  );
  return accessFrom(config, await clusterCaOf(config).catch(() => undefined));
}

/** Lists the pods of one plan entry. */
export async function runPodsCheck(
  input: {
    readonly namespace: string;
    readonly labelSelector: string;
    readonly defaultPort: number;
    readonly lister: PodLister;
  },
  context: CheckContext,
): Promise<CheckOutcome> {
  const base = {
    kind: 'pods',
    namespace: input.namespace,
    labelSelector: input.labelSelector,
  } as const;
  const aborted = new Promise<never>((_resolve, reject) => {
    context.signal.addEventListener(
      'abort',
      () => reject(new Error(`no answer within ${context.timeoutMs} ms`)),
      { once: true },
    );
  });
  aborted.catch(() => undefined);
  try {
    const listed = await Promise.race([
      input.lister.list(input.namespace, input.labelSelector),
      aborted,
    ]);
    const pods: PodEndpoint[] = listed.map((pod) => ({
      name: pod.name,
      port: pod.port ?? input.defaultPort,
      ...(pod.ip !== undefined ? { ip: pod.ip } : {}),
    }));
    const data: PodsData = { ...base, pods };
    const where = `${input.namespace} (${input.labelSelector})`;
    if (pods.length === 0) return { status: 'warn', detail: `no pods in ${where} yet`, data };
    return { status: 'pass', detail: `${pods.length} pod(s) in ${where}`, data };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      status: 'fail',
      detail: `listing pods failed: ${message}`,
      data: { ...base, pods: [], error: message },
    };
  }
}

/** Connects to every pod its prerequisite listed, concurrently. */
export async function runPodConnectCheck(
  input: { readonly pods: readonly PodEndpoint[]; readonly allowConnect: ConnectPolicy },
  context: CheckContext,
): Promise<CheckOutcome> {
  const results = await Promise.all(
    input.pods.map(async (pod): Promise<PodEndpoint & { error?: string }> => {
      if (pod.ip === undefined) return { ...pod, error: 'no pod IP yet' };
      if (!input.allowConnect(pod.ip)) return { ...pod, error: 'not-allowed' };
      const { error } = await tcpConnect(pod.ip, pod.port, context.signal);
      return error === undefined ? pod : { ...pod, error };
    }),
  );
  const data: PodConnectData = { kind: 'pod-connect', results };
  const failed = results.filter((result) => result.error !== undefined);
  if (results.length === 0) return { status: 'skipped', detail: 'no pods to connect to', data };
  if (failed.length === 0)
    return { status: 'pass', detail: `connected to ${results.length} pod(s)`, data };
  const list = failed
    .map((pod) => `${pod.name} ${pod.ip ?? '-'}:${pod.port} ${pod.error ?? ''}`)
    .join('; ');
  return {
    status: 'fail',
    detail: `${failed.length} of ${results.length} pod(s) unreachable: ${list}`,
    data,
  };
}
