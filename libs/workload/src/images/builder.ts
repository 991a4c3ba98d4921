import type { EnvironmentHash } from '@skiff/hashing';
import type { BuildContext } from './dockerfile.js';

/** Where a built image is pushed. */
export interface ImageBuildDestination {
  /** `host[:port]` of the workspace registry. */
  readonly registry: string;
  readonly repository: string;
  /** The environment image tag (`environmentImageTag(hash)`). */
  readonly tag: string;
  /** The registry speaks plain HTTP (a loopback or explicitly insecure registry). */
  readonly insecure: boolean;
}

/** Everything a builder needs to build and push one environment image. */
export interface ImageBuildRequest {
  readonly environmentHash: EnvironmentHash;
  /** `registry/repository:tag`: where the image must be once the build succeeded. */
  readonly image: string;
  readonly destination: ImageBuildDestination;
  /** The Dockerfile and the files it copies. */
  readonly context: BuildContext;
  readonly signal?: AbortSignal | undefined;
}

/** A finished build. */
export interface ImageBuildResult {
  /** The image pushed, `registry/repository:tag` (or `@digest`). */
  readonly image: string;
  /** The build log, one entry per line. */
  readonly logs: readonly string[];
}

/**
 * Builds an environment image and pushes it to the workspace registry. The in-cluster
 * implementation runs the Job of {@link environmentBuildJob} and waits for it; tests use a
 * stand-in. A failed build rejects with an `ImageBuildError` carrying the log.
 */
export interface ImageBuilder {
  build(request: ImageBuildRequest): Promise<ImageBuildResult>;
}
