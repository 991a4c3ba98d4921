/**
 * @skiff/artifacts: a content-addressed artifact store (models, manifests, snapshot zips) keyed
 * by sha256, on the filesystem (embedded default) or in Azure Blob Storage.
 */
export {
  type ArtifactReadStream,
  type ArtifactStore,
  type PutOptions,
  type PutResult,
  type StaleUploadsRemoved,
  type StoredArtifact,
} from './artifact-store.js';
export {
  ArtifactHasher,
  digestHex,
  isArtifactDigest,
  sha256Digest,
  type ArtifactDigest,
} from './digest.js';
export {
  ArtifactNotFoundError,
  ArtifactStoreConfigError,
  ArtifactStoreError,
  ArtifactStoreUnavailableError,
  ArtifactTooLargeError,
  DigestMismatchError,
  InvalidDigestError,
  type ArtifactStoreErrorOptions,
} from './errors.js';
export { FilesystemArtifactStore, type FilesystemStoreOptions } from './filesystem-store.js';
export {
  AzureBlobArtifactStore,
  type AzureBlobConnectionStringOptions,
  type AzureBlobEntraIdOptions,
  type AzureBlobStoreCommonOptions,
  type AzureBlobStoreOptions,
} from './azure-blob-store.js';
export {
  artifactStoreConfigSchema,
  createArtifactStore,
  type ArtifactStoreConfig,
  type ArtifactStoreDependencies,
} from './config.js';
