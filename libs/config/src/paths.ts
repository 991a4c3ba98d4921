// Where the files an inference configuration names are. Azure ML v1 took `entryScript`,
// `condaFile` and `extraDockerfileSteps` relative to `sourceDirectory` ("your entry_script,
// conda_file, and extra_docker_file_steps paths are relative paths to the source_directory
// path"); `sourceDirectory` itself, and every path without one, is relative to the
// configuration file's own folder, so a project deploys the same from any working directory.
import { isAbsolute, join } from 'node:path';
import type { InferenceConfig } from './inference-config.js';

/** What a relative path in an inference configuration starts from. */
export type PathBase = 'sourceDirectory' | 'configDirectory';

/** A file an inference configuration names, as written and as resolved. */
export interface ReferencedPath {
  /** The dotted field it came from, e.g. `condaFile`, `environment.docker.baseDockerfile`. */
  readonly field: string;
  /** The path exactly as the configuration wrote it. */
  readonly written: string;
  /** The path to read: `written` joined to its base (absolute paths stay as they are). */
  readonly resolved: string;
  /** What `written` is relative to. */
  readonly relativeTo: PathBase;
}

/** Every location an inference configuration implies, resolved against its folder. */
export interface InferenceConfigPaths {
  /** The configuration file's folder, as given. */
  readonly configDirectory: string;
  /** `sourceDirectory` resolved against `configDirectory`; null when unset. */
  readonly sourceDirectory: string | null;
  /** The entry script, resolved against `sourceDirectory` (else `configDirectory`). */
  readonly entryScript: ReferencedPath;
  /** Files read into the environment definition (conda file, Dockerfile steps, base Dockerfile). */
  readonly environmentFiles: readonly ReferencedPath[];
}

/** `path` relative to `base`, unless it is absolute (POSIX, or a Windows drive path). */
export function resolveAgainst(base: string, path: string): string {
  return isAbsolute(path) || /^[A-Za-z]:[\\/]/.test(path) ? path : join(base, path);
}

/**
 * Resolves the paths of a validated inference configuration the way Azure ML v1 did:
 * `entryScript`, `condaFile` and `extraDockerfileSteps` against `sourceDirectory` when it is
 * set, `sourceDirectory` against the configuration's folder. Paths inside a nested `environment`
 * (`python.condaDependenciesFile`, a `docker.baseDockerfile` path) belong to the environment
 * definition, not the source tree, and stay relative to the configuration's folder.
 *
 * @param configDirectory - the folder of the inference configuration file; relative paths stay
 *   relative to whatever it is relative to ('' keeps them as written).
 */
export function inferenceConfigPaths(
  config: InferenceConfig,
  configDirectory: string,
): InferenceConfigPaths {
  const sourceDirectory =
    config.sourceDirectory === null
      ? null
      : resolveAgainst(configDirectory, config.sourceDirectory);
  const sourceBase: PathBase = sourceDirectory === null ? 'configDirectory' : 'sourceDirectory';
  const reference = (field: string, written: string, relativeTo: PathBase): ReferencedPath => ({
    field,
    written,
    relativeTo,
    resolved: resolveAgainst(
      relativeTo === 'sourceDirectory' ? (sourceDirectory ?? configDirectory) : configDirectory,
      written,
    ),
  });
  const env = config.environment;
  const flat = config.shape === 'flat';
  const files: ReferencedPath[] = [];
  if (env.condaFile !== null && !env.userManagedDependencies) {
    files.push(
      flat
        ? reference('condaFile', env.condaFile, sourceBase)
        : reference('environment.python.condaDependenciesFile', env.condaFile, 'configDirectory'),
    );
  }
  if (env.extraDockerfileSteps !== null) {
    files.push(reference('extraDockerfileSteps', env.extraDockerfileSteps, sourceBase));
  }
  if (env.baseDockerfile?.kind === 'file') {
    files.push(
      reference('environment.docker.baseDockerfile', env.baseDockerfile.path, 'configDirectory'),
    );
  }
  return {
    configDirectory,
    sourceDirectory,
    entryScript: reference('entryScript', config.entryScript, sourceBase),
    environmentFiles: files,
  };
}
