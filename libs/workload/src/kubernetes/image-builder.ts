// The in-cluster ImageBuilder: runs the BuildKit Job of environmentBuildJob() and waits for it.
// The Job's name comes from the environment hash, so a second agent or control plane asking
// for the same environment finds the first one's Job (409 AlreadyExists) and waits for that.
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Job,
  type V1ResourceRequirements,
} from '@kubernetes/client-node';
import { UnavailableError } from '@skiff/errors';
import {
  environmentBuildJob,
  ImageBuildError,
  type ImageBuilder,
  type ImageBuildRequest,
  type ImageBuildResult,
} from '../images/index.js';
import { FIELD_MANAGER } from './manifests.js';

/** Options of {@link KubernetesImageBuilder}. */
export interface KubernetesImageBuilderOptions {
  readonly kubeConfig: KubeConfig;
  /** Namespace the build Jobs run in (the agent's own). */
  readonly namespace: string;
  /** `kubernetes.io/dockerconfigjson` Secret to push with (see registryAuthSecret); default none. */
  readonly registryAuthSecretName?: string;
  /** Default the build Job's (BUILDKIT_IMAGE). */
  readonly buildkitImage?: string;
  /** Default the namespace's default service account (its token is not mounted). */
  readonly serviceAccountName?: string;
  /** Resources of the BuildKit container; default none. */
  readonly resources?: V1ResourceRequirements;
  /** Default the build Job's (3600 s). */
  readonly activeDeadlineSeconds?: number;
  /** Default the build Job's (86 400 s). */
  readonly ttlSecondsAfterFinished?: number;
  /** How often the Job is read while it runs; default 2 000 ms. */
  readonly pollIntervalMs?: number;
}

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** The build container of environmentBuildJob(). */
const BUILD_CONTAINER = 'buildkit';

function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

function finished(job: V1Job): { ok: boolean; reason: string } | undefined {
  for (const condition of job.status?.conditions ?? []) {
    if (condition.status !== 'True') continue;
    if (condition.type === 'Complete') return { ok: true, reason: '' };
    if (condition.type === 'Failed') {
      return {
        ok: false,
        reason:
          [condition.reason, condition.message].filter(Boolean).join(': ') ||
          'the build Job failed',
      };
    }
  }
  return undefined;
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/**
 * Builds environment images in the cluster with rootless BuildKit (see images/README.md):
 * creates the build context ConfigMap and the Job, makes the Job the ConfigMap's owner (so the
 * Job's TTL removes both), waits for the Job and returns the build log. Giving up (`signal`)
 * stops the wait, not the Job: another caller may be waiting for the same build.
 */
export class KubernetesImageBuilder implements ImageBuilder {
  readonly #batch: BatchV1Api;
  readonly #core: CoreV1Api;

  constructor(private readonly options: KubernetesImageBuilderOptions) {
    this.#batch = options.kubeConfig.makeApiClient(BatchV1Api);
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
  }

  async build(request: ImageBuildRequest): Promise<ImageBuildResult> {
    const { namespace } = this.options;
    const { configMap, job } = environmentBuildJob({
      namespace,
      environmentHash: request.environmentHash,
      image: request.image,
      context: request.context,
      insecureRegistry: request.destination.insecure,
      ...(this.options.registryAuthSecretName === undefined
        ? {}
        : { registryAuthSecretName: this.options.registryAuthSecretName }),
      ...(this.options.buildkitImage === undefined
        ? {}
        : { buildkitImage: this.options.buildkitImage }),
      ...(this.options.serviceAccountName === undefined
        ? {}
        : { serviceAccountName: this.options.serviceAccountName }),
      ...(this.options.resources === undefined ? {} : { resources: this.options.resources }),
      ...(this.options.activeDeadlineSeconds === undefined
        ? {}
        : { activeDeadlineSeconds: this.options.activeDeadlineSeconds }),
      ...(this.options.ttlSecondsAfterFinished === undefined
        ? {}
        : { ttlSecondsAfterFinished: this.options.ttlSecondsAfterFinished }),
    });
    const name = job.metadata?.name ?? '';
    const what = `the build Job ${namespace}/${name} of ${request.image}`;
    try {
      try {
        await this.#core.createNamespacedConfigMap({
          namespace,
          body: configMap,
          fieldManager: FIELD_MANAGER,
        });
      } catch (error) {
        // The same name holds the same context: it comes from the same environment hash.
        if (!isStatus(error, 409)) throw error;
      }
      let created: V1Job;
      try {
        created = await this.#batch.createNamespacedJob({
          namespace,
          body: job,
          fieldManager: FIELD_MANAGER,
        });
      } catch (error) {
        if (!isStatus(error, 409)) throw error;
        created = await this.#batch.readNamespacedJob({ name, namespace });
      }
      await this.#core.patchNamespacedConfigMap(
        {
          name,
          namespace,
          fieldManager: FIELD_MANAGER,
          body: {
            metadata: {
              ownerReferences: [
                { apiVersion: 'batch/v1', kind: 'Job', name, uid: created.metadata?.uid ?? '' },
              ],
            },
          },
        },
        MERGE,
      );
      let current = created;
      for (;;) {
        const outcome = finished(current);
        if (outcome) {
          const logs = await this.#logs(name);
          if (!outcome.ok)
            throw new ImageBuildError(outcome.reason, { image: request.image, logs });
          return { image: request.image, logs };
        }
        await delay(this.options.pollIntervalMs ?? 2_000, request.signal);
        current = await this.#batch.readNamespacedJob({ name, namespace });
      }
    } catch (error) {
      if (error instanceof ImageBuildError || request.signal?.aborted) throw error;
      const detail =
        error instanceof ApiException
          ? `HTTP ${error.code}: ${String(error.body).slice(0, 300)}`
          : String(error);
      throw new UnavailableError(`${what} could not be run: ${detail}`, { cause: error });
    }
  }

  /** The log of the Job's newest pod's build container, one entry per line ([] if none). */
  async #logs(job: string): Promise<string[]> {
    const { namespace } = this.options;
    const pods = await this.#core.listNamespacedPod({
      namespace,
      labelSelector: `batch.kubernetes.io/job-name=${job}`,
    });
    const newest = pods.items
      .sort((a, b) =>
        String(a.metadata?.creationTimestamp?.toISOString()).localeCompare(
          String(b.metadata?.creationTimestamp?.toISOString()),
        ),
      )
      .at(-1);
    if (!newest?.metadata?.name) return [];
    try {
      const body = await this.#core.readNamespacedPodLog({
        name: newest.metadata.name,
        namespace,
        container: BUILD_CONTAINER,
      });
      const lines = String(body).split('\n');
      if (lines.at(-1) === '') lines.pop();
      return lines;
    } catch (error) {
      if (isStatus(error, 400) || isStatus(error, 404)) return [];
      throw error;
    }
  }
}
