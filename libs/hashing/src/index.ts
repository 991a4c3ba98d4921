/**
 * @skiff/hashing: content identities for deployments. The environment hash (the image tag),
 * deterministic project snapshots (zip + digest, honouring .amlignore/.gitignore), model
 * digests, and safe snapshot extraction.
 */
export {
  environmentHash,
  environmentImageTag,
  isEnvironmentHash,
  normalizeEnvironment,
  parseEnvironmentHash,
  ENVIRONMENT_HASH_VERSION,
  type EnvironmentDefinition,
  type EnvironmentHash,
  type NormalizedEnvironment,
} from './environment-hash.js';
export { environmentDefinitionOf } from './api-environment.js';
export { canonicalJson, type CanonicalValue } from './canonical-json.js';
export { normalizeCondaYaml } from './conda.js';
export { normalizePackageName, normalizePipRequirements, normalizeRequirementLine } from './pip.js';
export {
  listSnapshotFiles,
  snapshotDigest,
  writeSnapshot,
  type Sha256Digest,
  type SnapshotEntry,
  type SnapshotOptions,
  type SnapshotResult,
} from './snapshot.js';
export { extractSnapshot, type ExtractResult } from './extract.js';
export { modelDigest } from './model-digest.js';
export { ModelDigestBuilder, ModelTreeError } from './model-digest-builder.js';
export { EnvironmentDefinitionError, SnapshotError } from './errors.js';
