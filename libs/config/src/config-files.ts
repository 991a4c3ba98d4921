// Reading v1 configuration files from disk: the one place that turns a path on the command line
// into a checked configuration and the files it names. Every command that takes --ic/--dc goes
// through here, so a file means the same to `skiff config check` as to `skiff model deploy`.
import { readFile, stat } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import type { EnvironmentDefinition } from '@skiff/hashing';
import {
  checkDeploymentConfig,
  type ConfigResult,
  type DeploymentConfig,
  type DeploymentConfigOptions,
} from './deployment-config.js';
import { parseConfigDocument } from './document.js';
import { resolveEnvironmentDefinition } from './environment-definition.js';
import { checkInferenceConfig, type InferenceConfig } from './inference-config.js';
import { ConfigError, type ConfigIssue } from './issues.js';
import {
  inferenceConfigPaths,
  resolveAgainst,
  type InferenceConfigPaths,
  type ReferencedPath,
} from './paths.js';

/** A configuration file: as the user named it (for messages) and where it is. */
export interface ConfigFileLocation {
  /** The name shown in every issue, e.g. `deploymentconfig.yml` as typed on the command line. */
  readonly label: string;
  /** Absolute path of the file. */
  readonly path: string;
}

/** The file `argument` names, relative to `cwd`, labelled as typed. */
export function configFileAt(cwd: string, argument: string): ConfigFileLocation {
  return { label: argument, path: resolve(cwd, argument) };
}

/**
 * Reads a configuration file and parses it as JSON or YAML (by extension, else by content; see
 * `parseConfigDocument`).
 *
 * @throws ConfigError naming the file when it cannot be read or parsed.
 */
export async function readConfigDocument(file: ConfigFileLocation): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file.path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? `no such file (looked for ${file.path})`
        : code === 'EISDIR'
          ? 'is a directory, expected a JSON or YAML file'
          : `cannot be read: ${error instanceof Error ? error.message : String(error)}`;
    throw new ConfigError([{ file: file.label, path: '', message: reason }], { cause: error });
  }
  return parseConfigDocument(text, file.label);
}

/** A checked inference configuration with everything it names resolved and read. */
export interface InferenceConfigFile {
  readonly file: ConfigFileLocation;
  readonly config: InferenceConfig;
  /** Absolute locations: source directory, entry script, environment files. */
  readonly paths: InferenceConfigPaths;
  /** The environment with the conda file and Dockerfile steps read in (what gets hashed). */
  readonly environment: EnvironmentDefinition;
}

const isFile = (path: string) =>
  stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
const isDirectory = (path: string) =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );

// Before v1's rule was followed, skiff read these paths beside the configuration file; a
// project written that way gets told where its file is and what to write instead.
async function besideConfigHint(
  reference: ReferencedPath,
  paths: InferenceConfigPaths,
): Promise<string> {
  if (reference.relativeTo !== 'sourceDirectory' || paths.sourceDirectory === null) return '';
  const beside = resolveAgainst(paths.configDirectory, reference.written);
  if (beside === reference.resolved || !(await isFile(beside))) return '';
  const fromSource = relative(paths.sourceDirectory, beside).replaceAll('\\', '/');
  return (
    `; ${beside} exists, but ${reference.field} is relative to sourceDirectory (as in Azure ML v1): ` +
    `write ${JSON.stringify(fromSource)} or move the file into sourceDirectory`
  );
}

/** Options of {@link checkInferenceConfigFile} / {@link readInferenceConfigFile}. */
export interface InferenceConfigFileOptions {
  /**
   * The configuration's content, already parsed (e.g. a file with command-line flags merged
   * in, or flags alone): checked as if `file` held it, its paths resolved against `file`'s
   * folder; `file` itself is not read. Default: read `file`.
   */
  readonly document?: unknown;
}

/**
 * Reads and checks an Azure ML v1 inference configuration (JSON or YAML, either shape) and the
 * files it names: `sourceDirectory` (relative to the file's folder) must be a directory, the
 * entry script must exist, and the conda file, extra Dockerfile steps and base Dockerfile are
 * read — `entryScript`, `condaFile` and `extraDockerfileSteps` relative to `sourceDirectory`,
 * as in v1. Returns every problem found instead of throwing.
 */
export async function checkInferenceConfigFile(
  file: ConfigFileLocation,
  options: InferenceConfigFileOptions = {},
): Promise<ConfigResult<InferenceConfigFile>> {
  let document: unknown;
  try {
    document = 'document' in options ? options.document : await readConfigDocument(file);
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, issues: error.issues };
    throw error;
  }
  const checked = checkInferenceConfig(document, { file: file.label });
  if (!checked.ok) return checked;
  const config = checked.config;
  const paths = inferenceConfigPaths(config, dirname(file.path));
  const issues: ConfigIssue[] = [];

  if (paths.sourceDirectory !== null && !(await isDirectory(paths.sourceDirectory))) {
    issues.push({
      file: file.label,
      path: 'sourceDirectory',
      message: `expected a directory, found none at ${paths.sourceDirectory}`,
    });
  } else if (!(await isFile(paths.entryScript.resolved))) {
    issues.push({
      file: file.label,
      path: 'entryScript',
      message: `no such file: ${paths.entryScript.resolved}${await besideConfigHint(paths.entryScript, paths)}`,
    });
  }

  let environment: EnvironmentDefinition | undefined;
  try {
    environment = await resolveEnvironmentDefinition(
      config,
      async (path, reference) => {
        try {
          return await readFile(path, 'utf8');
        } catch (error) {
          const hint = await besideConfigHint(reference, paths);
          if (hint === '') throw error;
          throw new Error(`no such file${hint}`, { cause: error });
        }
      },
      { file: file.label, configDirectory: paths.configDirectory },
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  if (issues.length > 0 || environment === undefined) return { ok: false, issues };
  return { ok: true, config: { file, config, paths, environment } };
}

/**
 * Like {@link checkInferenceConfigFile}, but throws.
 *
 * @throws ConfigError listing every problem of the file and the files it names.
 */
export async function readInferenceConfigFile(
  file: ConfigFileLocation,
  options: InferenceConfigFileOptions = {},
): Promise<InferenceConfigFile> {
  const result = await checkInferenceConfigFile(file, options);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.config;
}

/**
 * Reads and checks an Azure ML v1 deployment configuration (JSON or YAML, `aks` or `local`).
 * Returns every problem found instead of throwing.
 *
 * @param options - `enableGpu` of the inference configuration (default GPU count); the file
 *   name in issues is always `file.label`.
 */
export async function checkDeploymentConfigFile(
  file: ConfigFileLocation,
  options: Omit<DeploymentConfigOptions, 'file'> = {},
): Promise<ConfigResult<DeploymentConfig>> {
  try {
    return checkDeploymentConfig(await readConfigDocument(file), {
      ...options,
      file: file.label,
    });
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, issues: error.issues };
    throw error;
  }
}

/**
 * Like {@link checkDeploymentConfigFile}, but throws.
 *
 * @throws ConfigError listing every problem.
 */
export async function readDeploymentConfigFile(
  file: ConfigFileLocation,
  options: Omit<DeploymentConfigOptions, 'file'> = {},
): Promise<DeploymentConfig> {
  const result = await checkDeploymentConfigFile(file, options);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.config;
}
