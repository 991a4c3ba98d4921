import { SkiffError } from '@skiff/errors';
import { environmentDefinitionOf, parseEnvironmentHash } from '@skiff/hashing';
import type { GetDeploymentResponse } from '@skiff/proto';
import type { JobProgress } from '@skiff/queue';
import {
  describeEnvironmentImageEvent,
  type EnvironmentImageEvent,
  type EnvironmentImageResolver,
  type EnvironmentImageSource,
} from '@skiff/workload';
import { UnrecoverableError } from 'bullmq';

/** What a deploy job runs its replicas from. */
export interface PreparedEnvironment {
  /** The image reference replicas run (pinned by digest); '' for the local runtime. */
  readonly image: string;
}

/**
 * The environment step of a deploy job (SPEC.md §1 step 3): make sure the environment the
 * deployment's hash names is available to replicas, reporting each step as job progress.
 */
export interface EnvironmentStep {
  prepare(
    deployment: GetDeploymentResponse,
    progress: (progress: JobProgress) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<PreparedEnvironment>;
}

/**
 * The local runtime: replicas run on this machine's Python and Node, so no image is built;
 * the hash is recorded in the progress stream and nothing else happens.
 */
export class HostEnvironment implements EnvironmentStep {
  async prepare(
    deployment: GetDeploymentResponse,
    progress: (progress: JobProgress) => Promise<void>,
  ): Promise<PreparedEnvironment> {
    await progress({
      step: 'ENVIRONMENT_READY',
      message: `Environment ${deployment.environmentHash}: the local runtime records the hash and builds no image (replicas use this machine's Python and Node)`,
    });
    return { image: '' };
  }
}

const SOURCES: Record<EnvironmentImageSource, string> = {
  workspace: 'found in the workspace registry (cache hit)',
  global: 'copied from the global registry',
  built: 'built and pushed to the workspace registry',
};

/**
 * The Kubernetes runtime: the environment image is looked up by hash in the workspace
 * registry, else in the global one (and copied), else built by a BuildKit Job — the
 * `EnvironmentImageResolver` of `@skiff/workload` — and replicas run it pinned by digest.
 */
export class RegistryEnvironment implements EnvironmentStep {
  constructor(private readonly resolver: EnvironmentImageResolver) {}

  async prepare(
    deployment: GetDeploymentResponse,
    progress: (progress: JobProgress) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<PreparedEnvironment> {
    const hash = parseHash(deployment.environmentHash);
    const definition = environmentDefinitionOf(deployment.spec?.inferenceConfig?.environment);
    // Progress is reported in order, one line per step; the resolve does not wait for it.
    let reported = Promise.resolve();
    const onProgress = (event: EnvironmentImageEvent) => {
      const line = {
        step: stepOf(event),
        message: capitalize(describeEnvironmentImageEvent(event)),
      };
      reported = reported.then(() => progress(line)).catch(() => undefined);
    };
    try {
      const resolved = await this.resolver.resolve(hash, definition, {
        onProgress,
        ...(signal ? { signal } : {}),
      });
      await reported;
      await progress({
        step: 'ENVIRONMENT_READY',
        message: `Environment ${deployment.environmentHash}: ${resolved.image}, ${SOURCES[resolved.source]}`,
      });
      return { image: resolved.image };
    } catch (error) {
      await reported;
      throw jobError(error);
    }
  }
}

/** The image events as the deployment's steps: only a build is a step of its own. */
function stepOf(event: EnvironmentImageEvent): string {
  return event.step === 'building' || event.step === 'built' ? 'ENVIRONMENT_BUILDING' : 'STARTED';
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function parseHash(text: string): ReturnType<typeof parseEnvironmentHash> {
  try {
    return parseEnvironmentHash(text);
  } catch (error) {
    throw new UnrecoverableError(
      `DeploymentInvalid: environment hash ${JSON.stringify(text)} is not one (${String(error)})`,
    );
  }
}

/**
 * Registry and build failures a retry cannot fix (refused credentials, a failed build, an
 * environment that cannot be built) fail the job at once; an unreachable registry or API
 * server is retried with backoff.
 */
function jobError(error: unknown): Error {
  if (error instanceof SkiffError && error.kind !== 'unavailable') {
    const message = /^[A-Z][A-Za-z]+: /.test(error.message)
      ? error.message
      : `EnvironmentImageFailed: ${error.message}`;
    return new UnrecoverableError(message);
  }
  return error instanceof Error ? error : new Error(String(error));
}
