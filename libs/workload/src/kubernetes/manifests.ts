// The Kubernetes objects of one web service: a Deployment and a Service. Pure functions of the
// WorkloadSpec (and the options), so that applying the same spec twice sends the same bytes and
// server-side apply changes nothing.
import { createHash } from 'node:crypto';
import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1Probe,
  V1ResourceRequirements,
  V1Service,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { LivenessSettings, ReplicaResources, ServiceKey, WorkloadSpec } from '../driver.js';
// The environment images' contract: the scoring server's port and the user they run as.
import { REPLICA_UID, SCORING_PORT } from '../images/dockerfile.js';

/** The one field manager every apply of the agent uses. */
export const FIELD_MANAGER = 'skiff-agent';

/** Labels on every object skiff creates for a service (and on its pods). */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  workspace: 'skiff.dev/workspace',
  service: 'skiff.dev/service',
  generation: 'skiff.dev/generation',
} as const;

/** Value of {@link LABELS.managedBy}. */
export const MANAGED_BY = 'skiff';

/** Annotations on the pod template: what the replica runs, for people reading the cluster. */
export const ANNOTATIONS = {
  environmentHash: 'skiff.dev/environment-hash',
  snapshotDigest: 'skiff.dev/snapshot-digest',
} as const;

/** The scoring server's container in every replica pod. */
export const SCORING_CONTAINER = 'scoring';
/** The name of its port; a replica's address is `podIP:<containerPort of this port>`. */
export const SCORING_PORT_NAME = 'http';
/** GPUs as the NVIDIA device plugin advertises them. */
export const GPU_RESOURCE = 'nvidia.com/gpu';
/**
 * FPGAs as a generic extended resource. Clusters advertise FPGAs under vendor names; the
 * default is skiff's own, which an operator maps with a device plugin or node capacity patch,
 * or replaces with {@link ManifestOptions.fpgaResourceName}.
 */
export const DEFAULT_FPGA_RESOURCE = 'skiff.dev/fpga';

/** Where a replica finds its files (the Azure ML v1 layout). */
export const REPLICA_PATHS = {
  source: '/var/azureml-app/source',
  models: '/var/azureml-app/azureml-models',
  cache: '/var/skiff/cache',
  dataCollection: '/var/skiff/data-collection',
} as const;

/** Options of the manifests; every one has a default. */
export interface ManifestOptions {
  /**
   * The node-local artifact cache the agent fills (`snapshots/sha256-<hex>/`,
   * `models/<name>/<version>/`, each with a `.complete` marker); default `/var/lib/skiff/cache`.
   */
  readonly artifactCacheHostPath?: string;
  /** Where data-collection records are written on the node; default `/var/lib/skiff/data-collection`. */
  readonly dataCollectionHostPath?: string;
  /** Default {@link SCORING_PORT} (the port the environment images' scoring server uses). */
  readonly scoringPort?: number;
  /** Default {@link DEFAULT_FPGA_RESOURCE}. */
  readonly fpgaResourceName?: string;
  /** Secrets to pull the environment image with; default none (the node's credentials). */
  readonly imagePullSecrets?: readonly string[];
  /**
   * Image of the init container that waits for the artifacts; default {@link DEFAULT_WAIT_IMAGE}.
   * Not the environment image: that one is built from a team's Dockerfile steps, and the init
   * container sees the whole node cache (every team's files), so it must run trusted code.
   */
  readonly artifactWaitImage?: string;
}

/** A small image with `sh` and `sleep`, trusted, for the artifact wait. */
export const DEFAULT_WAIT_IMAGE = 'busybox:1.37';

/** Default {@link ManifestOptions.artifactCacheHostPath} (the agent DaemonSet mounts the same). */
export const DEFAULT_ARTIFACT_CACHE_HOST_PATH = '/var/lib/skiff/cache';
const DEFAULT_DATA_COLLECTION = '/var/lib/skiff/data-collection';

/**
 * The Kubernetes name of a service's objects: `<service>-<8 hex of the workspace>`, unique per
 * namespace across workspaces (two teams may both have a service `iris` in one namespace),
 * readable, and at most 41 characters, so pod names stay under 63.
 */
export function workloadName(key: ServiceKey): string {
  const hash = createHash('sha256').update(key.workspace).digest('hex').slice(0, 8);
  return `${key.service}-${hash}`;
}

/** The labels that select a service's pods (never the generation: selectors are immutable). */
export function selectorLabels(key: ServiceKey): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.workspace]: key.workspace,
    [LABELS.service]: key.service,
  };
}

/** A `labelSelector` for one service's objects, or for every skiff object when no key. */
export function labelSelector(key?: ServiceKey): string {
  const labels = key ? selectorLabels(key) : { [LABELS.managedBy]: MANAGED_BY };
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function objectLabels(spec: WorkloadSpec): Record<string, string> {
  return { ...selectorLabels(spec), [LABELS.generation]: String(spec.generation) };
}

/** Cores as a quantity: millicores (0.1 → "100m"), at least 1m. */
export function cpuQuantity(cores: number): string {
  return `${Math.max(1, Math.round(cores * 1000))}m`;
}

/** Gigabytes (GiB, as Azure ML sized containers) as a quantity: whole Gi, else Mi rounded up. */
export function memoryQuantity(gb: number): string {
  if (Number.isInteger(gb)) return `${gb}Gi`;
  return `${Math.max(1, Math.ceil(gb * 1024))}Mi`;
}

/**
 * Requests and limits of the scoring container. GPUs and FPGAs are extended resources: whole
 * numbers, and a limit equal to the request (Kubernetes cannot overcommit them).
 */
export function resourceRequirements(
  resources: ReplicaResources,
  fpgaResourceName: string = DEFAULT_FPGA_RESOURCE,
): V1ResourceRequirements {
  const requests: Record<string, string> = {
    cpu: cpuQuantity(resources.cpu),
    memory: memoryQuantity(resources.memoryInGB),
  };
  const limits: Record<string, string> = {};
  if (resources.cpuLimit !== undefined) limits['cpu'] = cpuQuantity(resources.cpuLimit);
  if (resources.memoryInGBLimit !== undefined) {
    limits['memory'] = memoryQuantity(resources.memoryInGBLimit);
  }
  for (const [name, count] of [
    [GPU_RESOURCE, resources.gpu],
    [fpgaResourceName, resources.fpga],
  ] as const) {
    if (count > 0) {
      requests[name] = String(Math.ceil(count));
      limits[name] = String(Math.ceil(count));
    }
  }
  return Object.keys(limits).length > 0 ? { requests, limits } : { requests };
}

const whole = (seconds: number, min: number) => Math.max(min, Math.round(seconds));

/**
 * Readiness and liveness from livenessProbeRequirements. Readiness asks `GET /ready`, which the
 * scoring server answers 503 while it drains, so a replica leaves routing before it stops;
 * it starts probing at once (the long initial delay is the liveness probe's, meant for a slow
 * `init()`). Liveness asks `GET /live` (200 unless `init()` failed) and must have a success
 * threshold of 1.
 */
export function probes(liveness: LivenessSettings): { readiness: V1Probe; liveness: V1Probe } {
  const common = {
    periodSeconds: whole(liveness.periodSeconds, 1),
    timeoutSeconds: whole(liveness.timeoutSeconds, 1),
    failureThreshold: whole(liveness.failureThreshold, 1),
  };
  return {
    readiness: {
      httpGet: { path: '/ready', port: SCORING_PORT_NAME, scheme: 'HTTP' },
      ...common,
      successThreshold: whole(liveness.successThreshold, 1),
    },
    liveness: {
      httpGet: { path: '/live', port: SCORING_PORT_NAME, scheme: 'HTTP' },
      ...common,
      initialDelaySeconds: whole(liveness.initialDelaySeconds, 0),
      successThreshold: 1,
    },
  };
}

/** The directory of a snapshot in the artifact cache (relative to its root). */
export function snapshotCachePath(digest: string): string {
  return `snapshots/${digest.replace(':', '-')}`;
}

/** The directory of a model in the artifact cache (relative to its root). */
export function modelCachePath(model: { name: string; version: number }): string {
  return `models/${model.name}/${model.version}`;
}

/** Variables the scoring server reads; the spec's own variables cannot override them. */
function scoringEnv(spec: WorkloadSpec, port: number): V1EnvVar[] {
  const env: V1EnvVar[] = [
    { name: 'SKIFF_ENTRY_SCRIPT', value: spec.entryScript },
    { name: 'SKIFF_RUNTIME', value: spec.runtime },
    { name: 'SKIFF_HOST', value: '0.0.0.0' },
    { name: 'SKIFF_PORT', value: String(port) },
    { name: 'SKIFF_MAX_CONCURRENT_REQUESTS', value: String(spec.maxConcurrentRequests) },
    { name: 'SKIFF_SCORING_TIMEOUT_MS', value: String(spec.scoringTimeoutMs) },
    { name: 'SKIFF_SERVICE_ID', value: `${spec.workspace}/${spec.service}` },
    {
      name: 'SKIFF_REPLICA_ID',
      valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } },
    },
  ];
  if (spec.snapshotDigest) env.push({ name: 'SKIFF_SOURCE_DIR', value: REPLICA_PATHS.source });
  if (spec.models.length === 1 && spec.models[0]) {
    const model = spec.models[0];
    env.push({
      name: 'AZUREML_MODEL_DIR',
      value: `${REPLICA_PATHS.models}/${model.name}/${model.version}`,
    });
  } else if (spec.models.length > 1) {
    env.push({ name: 'AZUREML_MODEL_DIR', value: REPLICA_PATHS.models });
  }
  if (spec.dataCollection) {
    env.push({ name: 'SKIFF_DATA_COLLECTION_DIR', value: REPLICA_PATHS.dataCollection });
  }
  return env;
}

/** The spec's environment variables (sorted) followed by the scoring server's own. */
export function containerEnv(spec: WorkloadSpec, port: number = SCORING_PORT): V1EnvVar[] {
  const own = scoringEnv(spec, port);
  const reserved = new Set(own.map((e) => e.name));
  const user = Object.entries(spec.environmentVariables)
    .filter(([name]) => !reserved.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value }));
  return [...user, ...own];
}

function artifactMounts(spec: WorkloadSpec): { paths: string[]; mounts: V1VolumeMount[] } {
  const paths: string[] = [];
  const mounts: V1VolumeMount[] = [];
  if (spec.snapshotDigest) {
    const path = snapshotCachePath(spec.snapshotDigest);
    paths.push(path);
    mounts.push({
      name: 'artifacts',
      mountPath: REPLICA_PATHS.source,
      subPath: path,
      readOnly: true,
    });
  }
  for (const model of spec.models) {
    const path = modelCachePath(model);
    paths.push(path);
    mounts.push({
      name: 'artifacts',
      mountPath: `${REPLICA_PATHS.models}/${model.name}/${model.version}`,
      subPath: path,
      readOnly: true,
    });
  }
  return { paths, mounts };
}

// Waits until the agent on the node has finished every artifact (its `.complete` marker), so
// the scoring container's sub-path mounts resolve to complete directories. Arguments are the
// cache-relative paths; nothing is interpolated into the script.
const WAIT_FOR_ARTIFACTS = `for path in "$@"; do
  [ -f "${REPLICA_PATHS.cache}/$path/.complete" ] || echo "waiting for $path in the node's artifact cache"
  until [ -f "${REPLICA_PATHS.cache}/$path/.complete" ]; do sleep 1; done
done`;

const restricted = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};

/**
 * The Deployment of a service generation: `spec.replicas` pods running the environment image's
 * scoring server, rolled with maxUnavailable 0 (new replicas are ready before an old one
 * leaves). Never a HorizontalPodAutoscaler: skiff's autoscaler sets the replica count.
 */
export function deploymentManifest(
  spec: WorkloadSpec,
  options: ManifestOptions = {},
): V1Deployment {
  const port = options.scoringPort ?? SCORING_PORT;
  const fpga = options.fpgaResourceName ?? DEFAULT_FPGA_RESOURCE;
  const { readiness, liveness } = probes(spec.liveness);
  const labels = objectLabels(spec);
  const artifacts = artifactMounts(spec);
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [...artifacts.mounts];
  if (artifacts.paths.length > 0) {
    volumes.push({
      name: 'artifacts',
      hostPath: {
        path: options.artifactCacheHostPath ?? DEFAULT_ARTIFACT_CACHE_HOST_PATH,
        type: 'Directory',
      },
    });
  }
  if (spec.dataCollection) {
    // One directory per workspace on the node: a team's replicas never see another's records.
    volumes.push({
      name: 'data-collection',
      hostPath: {
        path: `${options.dataCollectionHostPath ?? DEFAULT_DATA_COLLECTION}/${spec.workspace}`,
        type: 'DirectoryOrCreate',
      },
    });
    mounts.push({ name: 'data-collection', mountPath: REPLICA_PATHS.dataCollection });
  }
  const scoring: V1Container = {
    name: SCORING_CONTAINER,
    image: spec.image,
    ports: [{ name: SCORING_PORT_NAME, containerPort: port, protocol: 'TCP' }],
    env: containerEnv(spec, port),
    resources: resourceRequirements(spec.resources, fpga),
    readinessProbe: readiness,
    livenessProbe: liveness,
    securityContext: restricted,
    ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
  };
  const initContainers: V1Container[] =
    artifacts.paths.length > 0
      ? [
          {
            name: 'artifacts',
            image: options.artifactWaitImage ?? DEFAULT_WAIT_IMAGE,
            command: ['sh', '-c', WAIT_FOR_ARTIFACTS, 'wait-for-artifacts', ...artifacts.paths],
            resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '16Mi' } },
            securityContext: restricted,
            volumeMounts: [{ name: 'artifacts', mountPath: REPLICA_PATHS.cache, readOnly: true }],
          },
        ]
      : [];
  const tolerations: V1Toleration[] = [];
  if (spec.resources.gpu > 0)
    tolerations.push({ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' });
  if (spec.resources.fpga > 0)
    tolerations.push({ key: fpga, operator: 'Exists', effect: 'NoSchedule' });
  const annotations: Record<string, string> = {
    [ANNOTATIONS.environmentHash]: spec.environmentHash,
  };
  if (spec.snapshotDigest) annotations[ANNOTATIONS.snapshotDigest] = spec.snapshotDigest;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: workloadName(spec), namespace: spec.namespace, labels, annotations },
    spec: {
      replicas: spec.replicas,
      revisionHistoryLimit: 3,
      selector: { matchLabels: selectorLabels(spec) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: { labels, annotations },
        spec: {
          // Replicas run a team's code: no API token, no other services' addresses in env.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          // The scoring server drains for up to the scoring timeout after SIGTERM.
          terminationGracePeriodSeconds: Math.ceil(spec.scoringTimeoutMs / 1000) + 10,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: REPLICA_UID,
            runAsGroup: REPLICA_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          ...(options.imagePullSecrets && options.imagePullSecrets.length > 0
            ? { imagePullSecrets: options.imagePullSecrets.map((name) => ({ name })) }
            : {}),
          ...(initContainers.length > 0 ? { initContainers } : {}),
          containers: [scoring],
          ...(tolerations.length > 0 ? { tolerations } : {}),
          ...(volumes.length > 0 ? { volumes } : {}),
        },
      },
    },
  };
}

/** The Service of a service: a stable in-cluster name for its ready replicas. */
export function serviceManifest(spec: WorkloadSpec, options: ManifestOptions = {}): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: workloadName(spec), namespace: spec.namespace, labels: objectLabels(spec) },
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(spec),
      ports: [
        {
          name: SCORING_PORT_NAME,
          port: options.scoringPort ?? SCORING_PORT,
          targetPort: SCORING_PORT_NAME,
          protocol: 'TCP',
        },
      ],
    },
  };
}
