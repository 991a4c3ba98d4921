import { createHash } from 'node:crypto';
import { canonicalJson, type CanonicalValue } from './canonical-json.js';
import { normalizeCondaYaml } from './conda.js';
import { EnvironmentDefinitionError } from './errors.js';
import { normalizePipRequirements } from './pip.js';

/**
 * What an environment image is built from: the inputs of `environmentHash`. Mirrors the
 * environment part of an Azure ML v1 inference configuration.
 */
export interface EnvironmentDefinition {
  /** Base image reference, e.g. `mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest`. */
  baseImage: string;
  /** Registry address only (`myacr.azurecr.io`); credentials never enter the hash. */
  baseImageRegistry?: string;
  /** Dockerfile text used instead of `baseImage`. */
  baseDockerfile?: string;
  /** Dockerfile text appended after the base. */
  extraDockerfileSteps?: string;
  /** Conda environment YAML text. */
  condaDependencies?: string;
  /** requirements.txt text. */
  pipRequirements?: string;
  /** Build for GPU; default false. */
  enableGpu?: boolean;
  /** CUDA version, e.g. `11.8`. */
  cudaVersion?: string;
}

/**
 * The string form of an environment hash: `sha256:v<version>:<64 lowercase hex>`. Branded so
 * that only `environmentHash` and `parseEnvironmentHash` produce one.
 */
export type EnvironmentHash = string & { readonly __brand: 'EnvironmentHash' };

/** Version of the normalization below; bump it whenever the canonical structure changes. */
export const ENVIRONMENT_HASH_VERSION = 1;

const HASH_PATTERN = /^sha256:v([1-9][0-9]*):([0-9a-f]{64})$/;

/**
 * The normalized structure that `environmentHash` hashes (see the README for every rule).
 * Exposed so a caller can show why two environments hash differently.
 */
export interface NormalizedEnvironment {
  readonly baseImage: string | null;
  readonly baseImageRegistry: string | null;
  readonly baseDockerfile: string | null;
  readonly extraDockerfileSteps: string | null;
  readonly conda: CanonicalValue;
  readonly pip: readonly string[] | null;
  readonly enableGpu: boolean;
  readonly cudaVersion: string | null;
}

/**
 * Normalizes an environment definition: erases formatting and orderings that cannot change
 * the built image, keeps everything else.
 *
 * @throws EnvironmentDefinitionError when the conda YAML does not parse or is not a mapping.
 */
export function normalizeEnvironment(env: EnvironmentDefinition): NormalizedEnvironment {
  const pip =
    env.pipRequirements === undefined ? [] : normalizePipRequirements(env.pipRequirements);
  return {
    baseImage: nonEmpty(env.baseImage.trim()),
    baseImageRegistry: normalizeRegistry(env.baseImageRegistry),
    baseDockerfile: normalizeDockerfile(env.baseDockerfile),
    extraDockerfileSteps: normalizeDockerfile(env.extraDockerfileSteps),
    conda: env.condaDependencies === undefined ? null : normalizeCondaYaml(env.condaDependencies),
    pip: pip.length === 0 ? null : pip,
    enableGpu: env.enableGpu ?? false,
    cudaVersion: nonEmpty(env.cudaVersion?.trim() ?? ''),
  };
}

/**
 * The environment hash: `sha256:v1:` + the sha256 of the canonical JSON of
 * `normalizeEnvironment(env)`. Equal for definitions that differ only in formatting, comments,
 * key order or the order of unordered dependency lists; different when a dependency, version,
 * channel (or channel order), Dockerfile step, base image, registry, GPU flag or CUDA version
 * changes. Used as the image tag (see `environmentImageTag`).
 *
 * @throws EnvironmentDefinitionError when the conda YAML does not parse or is not a mapping.
 */
export function environmentHash(env: EnvironmentDefinition): EnvironmentHash {
  const normalized = normalizeEnvironment(env);
  const json = canonicalJson({ ...normalized, pip: normalized.pip ?? null });
  const hex = createHash('sha256').update(json, 'utf8').digest('hex');
  return `sha256:v${ENVIRONMENT_HASH_VERSION}:${hex}` as EnvironmentHash;
}

/** True when `text` has the form of an environment hash (any version). */
export function isEnvironmentHash(text: string): text is EnvironmentHash {
  return HASH_PATTERN.test(text);
}

/**
 * Validates the string form of an environment hash, e.g. one read from a request or a
 * registry.
 *
 * @throws EnvironmentDefinitionError naming the expected form when `text` is not one.
 */
export function parseEnvironmentHash(text: string): EnvironmentHash {
  if (!isEnvironmentHash(text)) {
    throw new EnvironmentDefinitionError(
      'environmentHash',
      `expected sha256:v<version>:<64 lowercase hex digits>, got ${JSON.stringify(text)}`,
    );
  }
  return text;
}

/**
 * The container image tag for an environment hash: `v1-<64 hex>`. OCI tags cannot contain
 * `:`, so the hash's own form cannot be used as a tag directly.
 */
export function environmentImageTag(hash: EnvironmentHash): string {
  const match = HASH_PATTERN.exec(hash);
  if (!match)
    throw new EnvironmentDefinitionError('environmentHash', `not an environment hash: ${hash}`);
  return `v${match[1]}-${match[2]}`;
}

function nonEmpty(text: string): string | null {
  return text === '' ? null : text;
}

// A registry is an address: scheme, userinfo (credentials!), trailing slashes and host case do
// not identify a different registry.
function normalizeRegistry(registry: string | undefined): string | null {
  if (registry === undefined) return null;
  const address = registry
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/+$/, '');
  const slash = address.indexOf('/');
  const authority = slash === -1 ? address : address.slice(0, slash);
  const path = slash === -1 ? '' : address.slice(slash);
  const host = authority.slice(authority.lastIndexOf('@') + 1).toLowerCase();
  return nonEmpty(host + path);
}

// Line endings, trailing whitespace and leading/trailing blank lines are not steps.
function normalizeDockerfile(text: string | undefined): string | null {
  if (text === undefined) return null;
  const lines = text.split(/\r\n|\r|\n/).map((line) => line.replace(/[ \t]+$/, ''));
  return nonEmpty(lines.join('\n').replace(/^\n+/, '').replace(/\n+$/, ''));
}
