// The Kubernetes objects that build an environment image in the cluster without a Docker
// daemon: rootless BuildKit run daemonless (`buildctl-daemonless.sh`) in a Job, pushing to the
// workspace registry.
//
// The build context travels in a ConfigMap: it is a few small text files (Dockerfile, conda
// file, requirements), the API server stores it, and nothing else — no registry, no object
// store, no network — is needed to hand it to the pod. A ConfigMap volume exposes its files as
// symlinks into a `..data` directory, which BuildKit would send as symlinks; so an init
// container (the same pinned BuildKit image, nothing more to pull) copies them, dereferenced,
// into an emptyDir that BuildKit reads as its context.
import type {
  V1ConfigMap,
  V1Container,
  V1Job,
  V1ResourceRequirements,
  V1Secret,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { InvalidArgumentError } from '@skiff/errors';
import { parseEnvironmentHash, type EnvironmentHash } from '@skiff/hashing';
import type { BuildContext } from './dockerfile.js';

/** The BuildKit image builds run in (rootless variant, pinned). */
export const BUILDKIT_IMAGE = 'moby/buildkit:v0.24.0-rootless';

/** Largest build context (Dockerfile + files) a build accepts: ConfigMaps hold at most 1 MiB. */
export const MAX_BUILD_CONTEXT_BYTES = 900 * 1024;

/** Options of {@link environmentBuildJob}. */
export interface BuildJobOptions {
  readonly namespace: string;
  readonly environmentHash: EnvironmentHash;
  /** Where to push: `registry/repository:tag`. */
  readonly image: string;
  readonly context: BuildContext;
  /** Push over plain HTTP (`registry.insecure=true`); default false. */
  readonly insecureRegistry?: boolean;
  /**
   * A `kubernetes.io/dockerconfigjson` Secret with the credentials to push to the workspace
   * registry and to pull a private base image (see {@link registryAuthSecret}); default none.
   */
  readonly registryAuthSecretName?: string;
  /** Default {@link BUILDKIT_IMAGE}. */
  readonly buildkitImage?: string;
  /** Default: the namespace's default service account (its token is not mounted). */
  readonly serviceAccountName?: string;
  /** The build is stopped after this long, s; default 3600. */
  readonly activeDeadlineSeconds?: number;
  /** The finished Job (and its pod with the log) is kept this long, s; default 86400. */
  readonly ttlSecondsAfterFinished?: number;
  /** Resources of the BuildKit container; default none. */
  readonly resources?: V1ResourceRequirements;
}

/** The objects to create, in this order. */
export interface BuildJobManifests {
  /** The build context. Give it the Job as owner once the Job exists, so both go together. */
  readonly configMap: V1ConfigMap;
  readonly job: V1Job;
}

const CONFIG_DIR = '/skiff/config';
const CONTEXT_DIR = '/skiff/context';
// Paths rootless BuildKit uses for its user (uid 1000, home /home/user).
const BUILDKIT_STATE_DIR = '/home/user/.local/share/buildkit';
const DOCKER_CONFIG_DIR = '/home/user/.docker';
const BUILDKIT_UID = 1000;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * The name of the build Job (and its ConfigMap) of an environment: derived from the hash, so a
 * second control plane asking for the same build finds the first one's Job (AlreadyExists)
 * and waits for it instead of building twice.
 */
export function buildJobName(hash: EnvironmentHash): string {
  const hex = parseEnvironmentHash(hash).slice(-64);
  return `skiff-build-${hex.slice(0, 20)}`;
}

/**
 * The ConfigMap and Job that build `options.image` from `options.context` with rootless
 * BuildKit and push it. A pure function: the same options give the same objects.
 *
 * @throws InvalidArgumentError when a context file name cannot be a ConfigMap key or the context
 *   is larger than {@link MAX_BUILD_CONTEXT_BYTES}.
 */
export function environmentBuildJob(options: BuildJobOptions): BuildJobManifests {
  const name = buildJobName(options.environmentHash);
  const files: Record<string, string> = { Dockerfile: options.context.dockerfile };
  for (const [file, content] of Object.entries(options.context.files)) {
    if (!CONFIG_MAP_KEY.test(file) || file === 'Dockerfile') {
      throw new InvalidArgumentError(
        `build context file name ${JSON.stringify(file)} cannot be a ConfigMap key`,
      );
    }
    files[file] = content;
  }
  const size = Object.entries(files).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
    0,
  );
  if (size > MAX_BUILD_CONTEXT_BYTES) {
    throw new InvalidArgumentError(
      `the build context of ${options.environmentHash} is ${size} bytes (Dockerfile, conda file, requirements); at most ${MAX_BUILD_CONTEXT_BYTES} fit the ConfigMap that carries it`,
    );
  }
  const sortedData = Object.fromEntries(
    Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  const hex = options.environmentHash.slice(-64);
  const labels = {
    'app.kubernetes.io/name': 'skiff-environment-build',
    'app.kubernetes.io/managed-by': 'skiff',
    // Label values stop at 63 characters; the full hash is in the annotation.
    'skiff.io/environment': hex.slice(0, 63),
  };
  const annotations = {
    'skiff.io/environment-hash': options.environmentHash,
    'skiff.io/image': options.image,
  };
  const buildkitImage = options.buildkitImage ?? BUILDKIT_IMAGE;

  const output = ['type=image', `name=${options.image}`, 'push=true'];
  if (options.insecureRegistry) output.push('registry.insecure=true');

  const mounts: V1VolumeMount[] = [
    { name: 'context', mountPath: CONTEXT_DIR, readOnly: true },
    { name: 'buildkitd', mountPath: BUILDKIT_STATE_DIR },
  ];
  const volumes: V1Volume[] = [
    { name: 'config', configMap: { name } },
    { name: 'context', emptyDir: {} },
    { name: 'buildkitd', emptyDir: {} },
  ];
  const env = [
    // Without privileges BuildKit cannot mount a fresh /proc for each RUN step.
    { name: 'BUILDKITD_FLAGS', value: '--oci-worker-no-process-sandbox' },
  ];
  if (options.registryAuthSecretName !== undefined) {
    mounts.push({ name: 'registry-auth', mountPath: DOCKER_CONFIG_DIR, readOnly: true });
    volumes.push({
      name: 'registry-auth',
      secret: {
        secretName: options.registryAuthSecretName,
        items: [{ key: '.dockerconfigjson', path: 'config.json' }],
      },
    });
    env.push({ name: 'DOCKER_CONFIG', value: DOCKER_CONFIG_DIR });
  }

  const nonRoot = { runAsUser: BUILDKIT_UID, runAsGroup: BUILDKIT_UID };
  const copyContext: V1Container = {
    name: 'context',
    image: buildkitImage,
    command: ['sh', '-c', `cp -L ${CONFIG_DIR}/* ${CONTEXT_DIR}/`],
    securityContext: {
      ...nonRoot,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'context', mountPath: CONTEXT_DIR },
    ],
  };
  // As BuildKit's rootless documentation asks: no seccomp or AppArmor profile (RootlessKit
  // creates user namespaces and mounts), uid 1000. Privilege escalation stays allowed:
  // newuidmap/newgidmap need their file capabilities.
  const buildkitSecurity: V1SecurityContext = {
    ...nonRoot,
    seccompProfile: { type: 'Unconfined' },
    appArmorProfile: { type: 'Unconfined' },
  };
  const buildkit: V1Container = {
    name: 'buildkit',
    image: buildkitImage,
    command: ['buildctl-daemonless.sh'],
    args: [
      'build',
      '--progress=plain',
      '--frontend=dockerfile.v0',
      `--local=context=${CONTEXT_DIR}`,
      `--local=dockerfile=${CONTEXT_DIR}`,
      `--output=${output.join(',')}`,
    ],
    env,
    securityContext: buildkitSecurity,
    volumeMounts: mounts,
    ...(options.resources === undefined ? {} : { resources: options.resources }),
  };

  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: options.namespace, labels, annotations },
    data: sortedData,
  };
  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: options.namespace, labels, annotations },
    spec: {
      // A failed build fails the same way again; the user fixes the environment instead.
      backoffLimit: 0,
      activeDeadlineSeconds: options.activeDeadlineSeconds ?? 3600,
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished ?? 86_400,
      template: {
        metadata: {
          labels,
          // The AppArmor field above needs Kubernetes 1.30; older clusters read this annotation.
          annotations: { 'container.apparmor.security.beta.kubernetes.io/buildkit': 'unconfined' },
        },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          ...(options.serviceAccountName === undefined
            ? {}
            : { serviceAccountName: options.serviceAccountName }),
          securityContext: { runAsNonRoot: true, ...nonRoot, fsGroup: BUILDKIT_UID },
          initContainers: [copyContext],
          containers: [buildkit],
          volumes,
        },
      },
    },
  };
  return { configMap, job };
}

/** One registry's credentials for {@link registryAuthSecret}. */
export interface RegistryAuthEntry {
  /** `host[:port]`. */
  readonly registry: string;
  readonly username: string;
  readonly password: string;
}

/**
 * A `kubernetes.io/dockerconfigjson` Secret BuildKit reads (through `DOCKER_CONFIG`) to push to
 * the workspace registry and pull private base images. Entries are sorted, so equal input gives
 * equal bytes.
 */
export function registryAuthSecret(
  name: string,
  namespace: string,
  entries: readonly RegistryAuthEntry[],
): V1Secret {
  const auths = Object.fromEntries(
    [...entries]
      .sort((a, b) => (a.registry < b.registry ? -1 : a.registry > b.registry ? 1 : 0))
      .map((entry) => [
        entry.registry,
        { auth: Buffer.from(`${entry.username}:${entry.password}`).toString('base64') },
      ]),
  );
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'skiff' } },
    type: 'kubernetes.io/dockerconfigjson',
    stringData: { '.dockerconfigjson': JSON.stringify({ auths }) },
  };
}
