// SPEC.md §1 step 3: the environment hash is the image tag. Look it up in the workspace
// registry; else in the global registry, and copy it into the workspace registry; else build it
// (pushed to the workspace registry). A second resolve of the same environment therefore finds
// it in the workspace registry and never builds.
import { InvalidArgumentError } from '@skiff/errors';
import {
  environmentHash,
  environmentImageTag,
  type EnvironmentDefinition,
  type EnvironmentHash,
} from '@skiff/hashing';
import type { ImageBuilder } from './builder.js';
import { copyImage, type ImageCopyStats } from './copy.js';
import { environmentBuildContext, type DockerfileOptions } from './dockerfile.js';
import { ImageBuildError } from './errors.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import {
  checkLocation,
  imageReference,
  registryOrigin,
  type ImageRepositoryLocation,
} from './reference.js';

/** Where a resolved image came from. */
export type EnvironmentImageSource = 'workspace' | 'global' | 'built';

/** The environment image replicas run. */
export interface ResolvedEnvironmentImage {
  /** Pinned by digest, for replicas: `registry/repository@sha256:…`. */
  readonly image: string;
  /** `registry/repository:tag`. */
  readonly taggedImage: string;
  readonly tag: string;
  readonly digest: string;
  readonly source: EnvironmentImageSource;
}

/** One step of a resolve, for the deployment's progress stream. */
export type EnvironmentImageEvent =
  | { readonly step: 'lookup-workspace'; readonly outcome: 'hit' | 'miss'; readonly image: string }
  | { readonly step: 'lookup-global'; readonly outcome: 'hit' | 'miss'; readonly image: string }
  | { readonly step: 'copying'; readonly from: string; readonly to: string }
  | {
      readonly step: 'copied';
      readonly from: string;
      readonly to: string;
      readonly stats: ImageCopyStats;
    }
  | { readonly step: 'building'; readonly image: string }
  | { readonly step: 'built'; readonly image: string; readonly digest: string };

/** One line describing an event, as the progress stream shows it. */
export function describeEnvironmentImageEvent(event: EnvironmentImageEvent): string {
  switch (event.step) {
    case 'lookup-workspace':
    case 'lookup-global': {
      const where = event.step === 'lookup-workspace' ? 'workspace' : 'global';
      return event.outcome === 'hit'
        ? `environment image found in the ${where} registry: ${event.image}`
        : `environment image not in the ${where} registry: ${event.image}`;
    }
    case 'copying':
      return `copying the environment image from ${event.from} to ${event.to}`;
    case 'copied': {
      const s = event.stats;
      return `copied the environment image to ${event.to} (${s.blobsMounted} blobs mounted, ${s.blobsUploaded} uploaded, ${s.blobsPresent} already there)`;
    }
    case 'building':
      return `building the environment image ${event.image}`;
    case 'built':
      return `built the environment image ${event.image}@${event.digest}`;
  }
}

/** Options of {@link EnvironmentImageResolver}. */
export interface EnvironmentImageResolverOptions {
  /** The workspace's registry: looked up first, copied and built into. */
  readonly workspace: ImageRepositoryLocation;
  /** A registry shared by every workspace, looked up second; default none. */
  readonly global?: ImageRepositoryLocation;
  readonly builder: ImageBuilder;
  /** What every generated Dockerfile installs (the scoring runtime image, CUDA base images). */
  readonly dockerfile: DockerfileOptions;
  /** Settings of the registry clients (timeouts, chunk size, clock). */
  readonly registry?: Omit<RegistryClientOptions, 'role' | 'signal'>;
}

/** Options of one {@link EnvironmentImageResolver.resolve}. */
export interface ResolveEnvironmentImageOptions {
  /** Called with each step (a caller joining a resolve already running gets the steps so far). */
  readonly onProgress?: (event: EnvironmentImageEvent) => void;
  /** Gives up waiting; the work itself stops once every caller waiting for it gave up. */
  readonly signal?: AbortSignal;
}

interface Flight {
  readonly promise: Promise<ResolvedEnvironmentImage>;
  readonly events: EnvironmentImageEvent[];
  readonly listeners: Set<(event: EnvironmentImageEvent) => void>;
  readonly controller: AbortController;
  waiting: number;
}

/**
 * Finds or makes the image of an environment. One instance per workspace; it keeps its registry
 * clients (and their tokens), and runs one resolve per environment at a time: concurrent
 * callers for the same hash share it, so two deploys of one new environment build once.
 */
export class EnvironmentImageResolver {
  private readonly flights = new Map<string, Flight>();
  private workspaceClient: Promise<RegistryClient> | undefined;
  private globalClient: Promise<RegistryClient> | undefined;

  /** @throws InvalidArgumentError when a registry or repository is malformed. */
  constructor(private readonly options: EnvironmentImageResolverOptions) {
    checkLocation(options.workspace, 'workspace');
    if (options.global) checkLocation(options.global, 'global');
  }

  /** Resolves running now (one per environment), e.g. for a gauge. */
  get inFlight(): number {
    let running = 0;
    for (const flight of this.flights.values()) if (!flight.controller.signal.aborted) running += 1;
    return running;
  }

  /**
   * Resolves the image of `environment`, whose hash `hash` is.
   *
   * @throws InvalidArgumentError when `hash` is not the environment's hash, or the environment
   *   cannot be built (e.g. an unknown CUDA version).
   * @throws RegistryError when a registry refuses or fails (the message names it, the repository
   *   and the status).
   * @throws ImageBuildError when the build fails or does not leave the image in the workspace
   *   registry.
   */
  resolve(
    hash: EnvironmentHash,
    environment: EnvironmentDefinition,
    options: ResolveEnvironmentImageOptions = {},
  ): Promise<ResolvedEnvironmentImage> {
    if (options.signal?.aborted) return Promise.reject(options.signal.reason as Error);
    const computed = environmentHash(environment);
    if (computed !== hash) {
      return Promise.reject(
        new InvalidArgumentError(
          `environment hash ${hash} is not the hash of the environment given (${computed})`,
          { field: 'environmentHash' },
        ),
      );
    }
    let flight = this.flights.get(hash);
    // A flight every caller gave up on is not joined: it is stopping.
    if (!flight || flight.controller.signal.aborted) {
      const controller = new AbortController();
      const events: EnvironmentImageEvent[] = [];
      const listeners = new Set<(event: EnvironmentImageEvent) => void>();
      const emit = (event: EnvironmentImageEvent) => {
        events.push(event);
        for (const listener of listeners) listener(event);
      };
      const promise = this.run(hash, environment, emit, controller.signal).finally(() => {
        if (this.flights.get(hash) === started) this.flights.delete(hash);
      });
      const started: Flight = { promise, events, listeners, controller, waiting: 0 };
      flight = started;
      this.flights.set(hash, flight);
    }
    return join(flight, options);
  }

  private async run(
    hash: EnvironmentHash,
    environment: EnvironmentDefinition,
    emit: (event: EnvironmentImageEvent) => void,
    signal: AbortSignal,
  ): Promise<ResolvedEnvironmentImage> {
    const tag = environmentImageTag(hash);
    const workspace = this.options.workspace;
    const taggedImage = imageReference(workspace, tag);
    const resolved = (digest: string, source: EnvironmentImageSource) => ({
      image: imageReference(workspace, digest),
      taggedImage,
      tag,
      digest,
      source,
    });

    const target = await this.workspace(signal);
    const found = await target.headManifest(workspace.repository, tag, { signal });
    emit({ step: 'lookup-workspace', outcome: found ? 'hit' : 'miss', image: taggedImage });
    if (found) return resolved(found.digest, 'workspace');

    const global = this.options.global;
    if (global) {
      const source = await this.global(global, signal);
      const globalImage = imageReference(global, tag);
      const inGlobal = await source.headManifest(global.repository, tag, { signal });
      emit({ step: 'lookup-global', outcome: inGlobal ? 'hit' : 'miss', image: globalImage });
      if (inGlobal) {
        emit({ step: 'copying', from: globalImage, to: taggedImage });
        const copy = await copyImage(
          { client: source, repository: global.repository },
          { client: target, repository: workspace.repository },
          tag,
          { signal },
        );
        emit({ step: 'copied', from: globalImage, to: taggedImage, stats: copy.stats });
        return resolved(copy.digest, 'global');
      }
    }

    const context = environmentBuildContext(environment, this.options.dockerfile);
    emit({ step: 'building', image: taggedImage });
    const build = await this.options.builder.build({
      environmentHash: hash,
      image: taggedImage,
      destination: {
        registry: workspace.registry,
        repository: workspace.repository,
        tag,
        insecure: registryOrigin(workspace).startsWith('http:'),
      },
      context,
      signal,
    });
    const built = await target.headManifest(workspace.repository, tag, { signal });
    if (!built) {
      throw new ImageBuildError(
        `the build finished but ${taggedImage} is not in the workspace registry (did the build push it?)`,
        { image: taggedImage, logs: build.logs },
      );
    }
    emit({ step: 'built', image: taggedImage, digest: built.digest });
    return resolved(built.digest, 'built');
  }

  // Clients are connected on first use and kept (with their tokens); a failed connection is
  // retried by the next resolve.
  private workspace(signal: AbortSignal): Promise<RegistryClient> {
    this.workspaceClient ??= this.connect(this.options.workspace, 'workspace registry', signal);
    return this.workspaceClient.catch((error: unknown) => {
      this.workspaceClient = undefined;
      throw error;
    });
  }

  private global(global: ImageRepositoryLocation, signal: AbortSignal): Promise<RegistryClient> {
    const workspace = this.options.workspace;
    // One client for both when they are one registry with one identity: blobs can then be
    // mounted, and tokens are shared.
    if (
      registryOrigin(global) === registryOrigin(workspace) &&
      global.credentials === workspace.credentials
    ) {
      return this.workspace(signal);
    }
    this.globalClient ??= this.connect(global, 'global registry', signal);
    return this.globalClient.catch((error: unknown) => {
      this.globalClient = undefined;
      throw error;
    });
  }

  private connect(
    location: ImageRepositoryLocation,
    role: string,
    signal: AbortSignal,
  ): Promise<RegistryClient> {
    return RegistryClient.connect(location, { ...this.options.registry, role, signal });
  }
}

// A caller waits for a flight: it gets the steps so far and the ones to come; when it gives up
// it stops waiting, and the flight is aborted once nobody waits for it any more.
function join(
  flight: Flight,
  options: ResolveEnvironmentImageOptions,
): Promise<ResolvedEnvironmentImage> {
  const { onProgress, signal } = options;
  for (const event of flight.events) onProgress?.(event);
  if (onProgress) flight.listeners.add(onProgress);
  flight.waiting += 1;
  return new Promise<ResolvedEnvironmentImage>((resolve, reject) => {
    const leave = () => {
      if (onProgress) flight.listeners.delete(onProgress);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      leave();
      flight.waiting -= 1;
      if (flight.waiting === 0) flight.controller.abort(signal?.reason);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    flight.promise.then(
      (result) => {
        leave();
        resolve(result);
      },
      (error: unknown) => {
        leave();
        reject(error as Error);
      },
    );
  });
}
