import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertLoopback } from './loopback.js';

/** A pod the stub lists. */
export interface StubPod {
  readonly name: string;
  readonly ip: string;
  readonly port?: number;
}

/** A loopback HTTP server answering `GET /api/v1/namespaces/{ns}/pods?labelSelector=...`. */
export interface KubernetesStub {
  readonly url: string;
  /** A kubeconfig file pointing at the stub. */
  readonly kubeconfig: string;
  /** Requests received, as `path?query`. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

/**
 * Starts the stub. `pods` maps `namespace/labelSelector` to the pods listed; anything else
 * lists none. (The fuller Kubernetes API fake arrives with the agent issue.)
 */
export async function startKubernetesStub(
  pods: ReadonlyMap<string, readonly StubPod[]>,
  address = '127.0.0.1',
): Promise<KubernetesStub> {
  assertLoopback(address, 'Kubernetes stub');
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://stub');
    requests.push(`${url.pathname}${url.search}`);
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (request.method !== 'GET' || match === null) {
      response
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ kind: 'Status', code: 404 }));
      return;
    }
    const key = `${decodeURIComponent(match[1] ?? '')}/${url.searchParams.get('labelSelector') ?? ''}`;
    const items = (pods.get(key) ?? []).map((pod) => ({
      metadata: { name: pod.name, namespace: match[1] },
      spec: {
        containers: [
          {
            name: 'main',
            image: 'stub',
            ...(pod.port !== undefined ? { ports: [{ containerPort: pod.port }] } : {}),
          },
        ],
      },
      status: { phase: 'Running', podIP: pod.ip },
    }));
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'PodList',
        metadata: { resourceVersion: '1' },
        items,
      }),
    );
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => {
      const bound = server.address();
      if (bound !== null && typeof bound === 'object') resolve(bound.port);
      else reject(new Error('no port'));
    });
  });
  const url = `http://${address}:${port}`;
  const dir = await mkdtemp(join(tmpdir(), 'skiff-doctor-kube-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      // Plain HTTP on loopback; client-node only allows that with verification switched off.
      `- name: stub\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: stub\n  user:\n    token: stub-token',
      'contexts:',
      '- name: stub\n  context:\n    cluster: stub\n    user: stub',
      'current-context: stub',
      '',
    ].join('\n'),
  );
  return {
    url,
    kubeconfig,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
