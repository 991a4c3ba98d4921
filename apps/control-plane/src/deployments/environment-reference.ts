import { createHash } from 'node:crypto';
import { defaultBaseImage } from '@skiff/config';
import { InvalidArgumentError, NotFoundError } from '@skiff/errors';
import { canonicalJson, EnvironmentDefinitionError, type CanonicalValue } from '@skiff/hashing';
import {
  Environment,
  type EnvironmentReference,
  type InferenceConfig,
  type WebserviceSpec,
} from '@skiff/proto';
import type { Store } from '@skiff/store';
import { requireVersion } from '../rpc/validate.js';
import { requireModelName } from '../services/uploads/upload-fields.js';
import { normalizeSpec } from './spec.js';

/** libs/hashing's names of the definition's fields, as the API's messages spell them. */
const HASHED_FIELDS: Record<string, string> = {
  condaDependencies: 'python.conda_dependencies',
  pipRequirements: 'pip_requirements',
  baseDockerfile: 'docker.base_dockerfile',
  extraDockerfileSteps: 'extra_dockerfile_steps',
};

/** An environment name: a model name's characters (v1 allowed the same set). */
export function requireEnvironmentName(value: string, field: string): string {
  return requireModelName(value, field);
}

/** A definition as deployments use it, and the image tag it hashes to. */
export interface CompletedEnvironment {
  readonly definition: Environment;
  readonly environmentHash: string;
}

/**
 * Completes a definition exactly as a deployment carrying it inline is completed (defaults
 * filled, registry password dropped) and hashes it the same way — through `normalizeSpec`
 * itself, so a registered environment's hash can never drift from what its deployments get.
 *
 * @throws InvalidArgumentError naming `<field>.<its field>` when it cannot be hashed (conda
 *   YAML that does not parse).
 */
export function completeEnvironment(definition: Environment, field: string): CompletedEnvironment {
  try {
    const normalized = normalizeSpec(
      {
        compute: '',
        models: [],
        snapshotDigest: '',
        inferenceConfig: {
          entryScript: 'score.py',
          runtime: '',
          sourceDirectory: '',
          description: '',
          environment: definition,
        },
        deploymentConfig: undefined,
      },
      '',
    );
    const completed = normalized.spec.inferenceConfig?.environment;
    if (!completed) throw new Error('normalizeSpec returned no environment');
    return { definition: completed, environmentHash: normalized.environmentHash };
  } catch (error) {
    if (!(error instanceof EnvironmentDefinitionError)) throw error;
    const at = `${field}.${HASHED_FIELDS[error.field] ?? error.field}`;
    throw new InvalidArgumentError(`${at}: ${error.message.replace(/^[^:]*:\s*/, '')}`, {
      field: at,
      cause: error,
    });
  }
}

/**
 * sha256 over a definition's canonical JSON, leaving out its `name` and `version` (which the
 * registration assigns): equal definitions, equal digests.
 */
export function contentDigestOf(definition: Environment): string {
  const content = Environment.toJSON({ ...definition, name: '', version: '' });
  const json = canonicalJson(content as CanonicalValue);
  return `sha256:${createHash('sha256').update(json, 'utf8').digest('hex')}`;
}

/**
 * Whether an inline environment says nothing: what a configuration file without one produces
 * (clients may fill in the default base image, as libs/config does).
 */
function isEmpty(env: Environment): boolean {
  const { docker, python } = env;
  return (
    (!docker?.baseImage || docker.baseImage === defaultBaseImage(env.enableGpu)) &&
    !docker?.baseDockerfile &&
    !docker?.baseImageRegistry?.address &&
    (docker?.arguments.length ?? 0) === 0 &&
    !docker?.shmSize &&
    !python?.condaDependencies &&
    !python?.userManagedDependencies &&
    !python?.interpreterPath &&
    !python?.baseCondaEnvironment &&
    Object.keys(env.environmentVariables).length === 0 &&
    !env.extraDockerfileSteps &&
    !env.pipRequirements &&
    !env.enableGpu &&
    !env.cudaVersion &&
    !env.inferencingStackVersion
  );
}

/** A spec whose registered environment was resolved, and the reference as resolved. */
export interface ResolvedSpec {
  readonly spec: WebserviceSpec | undefined;
  /** The reference with the version it resolved to; undefined without a reference. */
  readonly reference: EnvironmentReference | undefined;
}

/**
 * Replaces the spec's inline environment by the registered definition its
 * `inference_config.environment_reference` names (version 0: the latest now), so the
 * deployment's environment hash is the registered definition's. The inline environment must
 * be empty, or exactly that definition (a spec read back from GetWebservice carries both).
 *
 * @throws InvalidArgumentError for a malformed reference or an inline environment beside it;
 *   NotFoundError when the workspace has no such environment.
 */
export async function resolveEnvironmentReference(
  store: Store,
  workspace: string,
  spec: WebserviceSpec | undefined,
): Promise<ResolvedSpec> {
  const inference = spec?.inferenceConfig;
  const ref = inference?.environmentReference;
  if (!spec || !inference || !ref) return { spec, reference: undefined };
  const field = 'spec.inference_config.environment_reference';
  const name = requireEnvironmentName(ref.name, `${field}.name`);
  requireVersion(ref.version, true, `${field}.version`);
  const registered = await store.environments.get(workspace, name, ref.version);
  if (!registered) {
    throw new NotFoundError(
      `environment '${name}'${ref.version > 0 ? ` version ${ref.version}` : ''} not found; register it first (skiff environment register)`,
      { field },
    );
  }
  const definition: Environment = {
    ...Environment.fromJSON(registered.definition),
    version: String(registered.version),
  };
  const inline = inference.environment;
  if (
    inline &&
    !isEmpty(inline) &&
    contentDigestOf(completeEnvironment(inline, field).definition) !== registered.contentDigest
  ) {
    throw new InvalidArgumentError(
      `spec.inference_config.environment: give an inline environment (condaFile, baseImage, environment, …) or a registered one (environment_reference, -e ${name}), not both`,
      { field: 'spec.inference_config.environment' },
    );
  }
  const resolved: InferenceConfig = { ...inference, environment: definition };
  return {
    spec: { ...spec, inferenceConfig: resolved },
    reference: { name: registered.name, version: registered.version },
  };
}
