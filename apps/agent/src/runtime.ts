import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import {
  EnvironmentImageResolver,
  KubernetesDriver,
  KubernetesImageBuilder,
  LocalProcessDriver,
  type ImageRepositoryLocation,
  type RegistryCredentials,
  type Replica,
  type WorkloadDriver,
} from '@skiff/workload';
import type { Logger } from 'pino';
import type { AgentEnv, RegistryUrl } from './config.js';
import { HostEnvironment, RegistryEnvironment, type EnvironmentStep } from './environment.js';

/** Where the agent runs replicas, and how their environment is made available. */
export interface AgentRuntime {
  readonly kind: AgentEnv['SKIFF_RUNTIME'];
  readonly driver: WorkloadDriver;
  readonly environment: EnvironmentStep;
  /**
   * Kubernetes: calls `onChange` with the replicas on this node whenever a pod here changes
   * (the agent fills its node's artifact cache for them). Absent for the local runtime, whose
   * replicas all run where the deploy job ran.
   */
  readonly watchNodeReplicas?: (onChange: (replicas: Replica[]) => void) => Promise<() => void>;
}

/** The scoring server's bin beside the agent's (apps/scoring-server in a checkout or image). */
function scoringServerBin(): string {
  // Not an import: replicas run it as processes of their own.
  return fileURLToPath(
    new URL('../../scoring-server/bin/skiff-scoring-server.js', import.meta.url),
  );
}

/** Opens the runtime SKIFF_RUNTIME names. */
export async function openRuntime(env: AgentEnv, log: Logger): Promise<AgentRuntime> {
  return env.SKIFF_RUNTIME === 'kubernetes' ? openKubernetes(env, log) : openLocal(env, log);
}

async function openLocal(env: AgentEnv, log: Logger): Promise<AgentRuntime> {
  // SKIFF_PYTHON reaches replicas through the driver's base environment (taken from ours).
  if (env.SKIFF_PYTHON) process.env['SKIFF_PYTHON'] = env.SKIFF_PYTHON;
  const driver = await LocalProcessDriver.open({
    stateDir: join(env.SKIFF_STATE_DIR, 'replicas'),
    command: process.execPath,
    args: [env.SKIFF_SCORING_SERVER ?? scoringServerBin()],
    nodeName: env.SKIFF_NODE_NAME,
    logger: log.child({ component: 'driver' }),
  });
  return { kind: 'local', driver, environment: new HostEnvironment() };
}

/** The cluster: a kubeconfig file when given, else the pod's ServiceAccount. */
export function kubeConfigOf(env: AgentEnv): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (env.SKIFF_KUBECONFIG) kubeConfig.loadFromFile(env.SKIFF_KUBECONFIG);
  else kubeConfig.loadFromCluster();
  return kubeConfig;
}

async function openKubernetes(env: AgentEnv, log: Logger): Promise<AgentRuntime> {
  const kubeConfig = kubeConfigOf(env);
  const driverLog = log.child({ component: 'driver' });
  const driver = await KubernetesDriver.connect({
    kubeConfig,
    namespaces: env.SKIFF_NAMESPACES ?? [env.SKIFF_NAMESPACE],
    nodeName: env.SKIFF_NODE_NAME,
    manifests: {
      artifactCacheHostPath: env.SKIFF_CACHE_HOST_PATH,
      artifactWaitImage: env.SKIFF_ARTIFACT_WAIT_IMAGE,
      ...(env.SKIFF_IMAGE_PULL_SECRETS ? { imagePullSecrets: env.SKIFF_IMAGE_PULL_SECRETS } : {}),
    },
    logger: { warn: (fields, message) => driverLog.warn(fields, message) },
  });
  const builder = new KubernetesImageBuilder({
    kubeConfig,
    namespace: env.SKIFF_NAMESPACE,
    buildkitImage: env.SKIFF_BUILDKIT_IMAGE,
    ...(env.SKIFF_BUILD_REGISTRY_SECRET
      ? { registryAuthSecretName: env.SKIFF_BUILD_REGISTRY_SECRET }
      : {}),
    ...(env.SKIFF_BUILD_SERVICE_ACCOUNT
      ? { serviceAccountName: env.SKIFF_BUILD_SERVICE_ACCOUNT }
      : {}),
  });
  const workspace = registryLocation(env, 'WORKSPACE');
  const global = registryLocation(env, 'GLOBAL');
  if (!workspace) throw new Error('SKIFF_WORKSPACE_REGISTRY is required'); // parseAgentEnv checks it
  const resolver = new EnvironmentImageResolver({
    workspace,
    ...(global ? { global } : {}),
    builder,
    dockerfile: { scoringRuntimeImage: env.SKIFF_SCORING_RUNTIME_IMAGE },
  });
  return {
    kind: 'kubernetes',
    driver,
    environment: new RegistryEnvironment(resolver),
    watchNodeReplicas: (onChange) => driver.watchReplicas(onChange),
  };
}

/**
 * A registry of the configuration as the resolver takes it. `acr` credentials carry no
 * identity: `@azure/identity` is imported only when that registry asks for a token.
 */
export function registryLocation(
  env: AgentEnv,
  which: 'WORKSPACE' | 'GLOBAL',
): ImageRepositoryLocation | undefined {
  const url: RegistryUrl | undefined = env[`SKIFF_${which}_REGISTRY`];
  if (!url) return undefined;
  const username = env[`SKIFF_${which}_REGISTRY_USERNAME`];
  const password = env[`SKIFF_${which}_REGISTRY_PASSWORD`];
  const auth = env[`SKIFF_${which}_REGISTRY_AUTH`] ?? (username ? 'basic' : 'anonymous');
  let credentials: RegistryCredentials | undefined;
  if (auth === 'basic')
    credentials = { kind: 'basic', username: username ?? '', password: password ?? '' };
  if (auth === 'acr') {
    credentials = {
      kind: 'acr',
      ...(env.SKIFF_ACR_CLIENT_ID ? { managedIdentityClientId: env.SKIFF_ACR_CLIENT_ID } : {}),
    };
  }
  return {
    registry: url.registry,
    scheme: url.scheme,
    repository: url.repository,
    ...(credentials ? { credentials } : {}),
  };
}
