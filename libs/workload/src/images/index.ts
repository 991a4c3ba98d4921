/**
 * Environment images (SPEC.md §1 step 3): the environment hash is the image tag; the image is
 * looked up in the workspace registry, then the global one (and copied), else built with
 * rootless BuildKit in the cluster. See README.md in this folder.
 */
export {
  EnvironmentImageResolver,
  describeEnvironmentImageEvent,
  type EnvironmentImageEvent,
  type EnvironmentImageResolverOptions,
  type EnvironmentImageSource,
  type ResolveEnvironmentImageOptions,
  type ResolvedEnvironmentImage,
} from './resolver.js';
export type {
  ImageBuildDestination,
  ImageBuildRequest,
  ImageBuildResult,
  ImageBuilder,
} from './builder.js';
export {
  CONDA_PREFIX,
  ENVIRONMENT_HASH_LABEL,
  REPLICA_UID,
  SCORING_PORT,
  SCORING_RUNTIME_DIR,
  environmentBuildContext,
  type BuildContext,
  type DockerfileOptions,
} from './dockerfile.js';
export {
  BUILDKIT_IMAGE,
  MAX_BUILD_CONTEXT_BYTES,
  buildJobName,
  environmentBuildJob,
  registryAuthSecret,
  type BuildJobManifests,
  type BuildJobOptions,
  type RegistryAuthEntry,
} from './build-job.js';
export {
  RegistryClient,
  type BlobUpload,
  type BlobUploadResult,
  type CallOptions,
  type ManifestContent,
  type ManifestInfo,
  type RegistryClientOptions,
} from './registry-client.js';
export {
  copyImage,
  type ImageCopyOptions,
  type ImageCopyResult,
  type ImageCopyStats,
  type ImageRepository,
} from './copy.js';
export {
  imageReference,
  isLoopbackRegistry,
  registryOrigin,
  type ImageRepositoryLocation,
  type RegistryEndpoint,
} from './reference.js';
export type {
  AcrRegistryCredentials,
  BasicRegistryCredentials,
  EntraTokenCredential,
  RegistryCredentials,
} from './auth/credentials.js';
export { ACR_ENTRA_SCOPE } from './auth/token-service.js';
export {
  BUILD_LOG_TAIL_LINES,
  ImageBuildError,
  RegistryError,
  type RegistryErrorCode,
  type RegistryErrorDetails,
} from './errors.js';
export {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  MANIFEST_ACCEPT,
  OCI_INDEX,
  OCI_MANIFEST,
} from './media-types.js';
