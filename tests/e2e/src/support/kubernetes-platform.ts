import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SkiffClient } from '@skiff/client';
import { ComputeKind } from '@skiff/proto';
import {
  startKubernetesFake,
  startTestRegistry,
  type IsolatedRedis,
  type KubernetesFake,
  type TestRegistry,
} from '@skiff/testing';
import { clusterPodRunner, prepareNode } from './kubernetes-cluster.js';
import { createCredentials, runCli, startControlPlane, type CliResult } from './control-plane.js';
import { bin, loopbackAddress, startApp, type AppProcess } from './processes.js';

/** The compute target of the cluster, and the namespaces of the fake. */
export const COMPUTE = 'cluster';
/** Where the workspace's services run (its default namespace). */
export const SERVICE_NAMESPACE = 'team-a';
/** The agents' own namespace (build Jobs). */
export const AGENT_NAMESPACE = 'skiff';
/** The hostPath of the artifact cache on every node (the manifests' default). */
export const CACHE_HOST_PATH = '/var/lib/skiff/cache';
/** Repository of environment images in both registries. */
export const ENVIRONMENTS = 'skiff/environments';

/** A control plane process, a Kubernetes compute target on the API fake, and its registries. */
export interface KubernetesPlatform {
  readonly endpoint: string;
  readonly workspace: string;
  readonly admin: SkiffClient;
  readonly fake: KubernetesFake;
  readonly workspaceRegistry: TestRegistry;
  readonly globalRegistry: TestRegistry;
  /** `registry/repository:tag` of every build the BuildKit Job pods pushed. */
  readonly builds: readonly string[];
  /** Starts a `skiff-agent` with SKIFF_RUNTIME=kubernetes for `node` (its own cache). */
  startAgent(node: string, env?: Record<string, string>): Promise<AppProcess>;
  cli(args: readonly string[], cwd?: string): Promise<CliResult>;
  stop(): Promise<void>;
}

/**
 * Starts `skiff-control-plane` on `redis`, the Kubernetes API fake with `nodes` (their kubelets
 * run replica pods as scoring-server processes), two docker-registry instances, and creates
 * workspace `team-a` with the Kubernetes compute target `cluster`, a deployer and an agent
 * credential.
 */
export async function startKubernetesPlatform(
  redis: IsolatedRedis,
  nodes: readonly string[],
): Promise<KubernetesPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-e2e-k8s-'));
  const nodesDir = join(dataDir, 'nodes');
  const builds: string[] = [];
  const started: AppProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [() => rm(dataDir, { recursive: true, force: true })];
  const stop = async () => {
    for (const process of started.reverse()) await process.kill();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const [workspaceRegistry, globalRegistry] = await Promise.all([
      startTestRegistry(),
      startTestRegistry(),
    ]);
    cleanups.push(workspaceRegistry.stop, globalRegistry.stop);
    const fake = await startKubernetesFake({
      namespaces: [AGENT_NAMESPACE, SERVICE_NAMESPACE],
      nodes,
      runner: clusterPodRunner(nodesDir, builds),
    });
    cleanups.push(() => fake.close());
    const kubeconfig = join(dataDir, 'kubeconfig');
    await writeFile(kubeconfig, fake.kubeConfig.exportConfig());

    const { process: controlPlane, endpoint, admin } = await startControlPlane(redis, dataDir);
    started.push(controlPlane);
    cleanups.push(async () => admin.close());
    const workspace = 'team-a';
    await admin.workspaces.create({
      workspace: { name: workspace, defaultNamespace: SERVICE_NAMESPACE },
    });
    await admin.computes.attach({
      compute: {
        workspace,
        name: COMPUTE,
        kind: ComputeKind.COMPUTE_KIND_KUBERNETES,
        namespace: SERVICE_NAMESPACE,
        // Never contacted: scoring URIs only.
        routerUrl: 'http://127.0.0.1:9',
      },
    });
    const { deployerToken, agentToken } = await createCredentials(admin, workspace, COMPUTE);

    return {
      endpoint,
      workspace,
      admin,
      fake,
      workspaceRegistry,
      globalRegistry,
      builds,
      async startAgent(node, env = {}) {
        const cacheDir = await prepareNode(nodesDir, node, CACHE_HOST_PATH);
        const agent = startApp(bin('agent', 'skiff-agent'), {
          SKIFF_ENDPOINT: endpoint,
          SKIFF_TOKEN: agentToken,
          SKIFF_WORKSPACE: workspace,
          SKIFF_COMPUTE: COMPUTE,
          SKIFF_NODE_NAME: node,
          REDIS_URL: redis.url,
          SKIFF_RUNTIME: 'kubernetes',
          SKIFF_KUBECONFIG: kubeconfig,
          SKIFF_NAMESPACE: AGENT_NAMESPACE,
          SKIFF_NAMESPACES: SERVICE_NAMESPACE,
          SKIFF_CACHE_DIR: cacheDir,
          SKIFF_CACHE_HOST_PATH: CACHE_HOST_PATH,
          SKIFF_STATE_DIR: join(nodesDir, node, 'agent'),
          SKIFF_WORKSPACE_REGISTRY: `${workspaceRegistry.origin}/${ENVIRONMENTS}`,
          SKIFF_GLOBAL_REGISTRY: `${globalRegistry.origin}/${ENVIRONMENTS}`,
          SKIFF_HTTP_LISTEN: await loopbackAddress(),
          SKIFF_JOB_LOCK_MS: '5000',
          SKIFF_LOG_LEVEL: 'info',
          ...env,
        });
        started.push(agent);
        return agent;
      },
      cli: (args, cwd) =>
        runCli({ endpoint, token: deployerToken, workspace, home: dataDir }, args, cwd),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
