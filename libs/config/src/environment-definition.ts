import type { EnvironmentDefinition } from '@skiff/hashing';
import { stringify } from 'yaml';
import type { InferenceConfig } from './inference-config.js';
import { ConfigError, type ConfigIssue } from './issues.js';
import { inferenceConfigPaths, type ReferencedPath } from './paths.js';

/**
 * Reads a file named in an inference configuration. Receives the path already resolved (see
 * {@link inferenceConfigPaths}: `condaFile` and `extraDockerfileSteps` against
 * `sourceDirectory`, as in Azure ML v1) and where it came from, for messages.
 */
export type ConfigFileReader = (path: string, reference: ReferencedPath) => Promise<string>;

/** Options of {@link resolveEnvironmentDefinition}. */
export interface ResolveEnvironmentOptions {
  /** File name used in issues; default `inferenceconfig.json`. */
  readonly file?: string;
  /**
   * Folder of the inference configuration, which relative paths start from (through
   * `sourceDirectory` where v1 did). Default '': paths are handed to the reader relative.
   */
  readonly configDirectory?: string;
}

const PATH_BASE_NAMES = {
  sourceDirectory: 'sourceDirectory',
  configDirectory: "the configuration file's folder",
} as const;

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory, expected a file';
  return error instanceof Error ? error.message : String(error);
}

/**
 * Turns a normalized inference configuration into the environment definition that
 * `environmentHash` (`@skiff/hashing`) hashes and the image build uses: reads the conda file,
 * extra Dockerfile steps and base Dockerfile through `readFile` (paths resolved as
 * {@link inferenceConfigPaths} says), renders an inline conda
 * environment as YAML, and keeps only the registry address (credentials never enter a hash).
 * With `userManagedDependencies` the conda definition is left out, as in Azure ML v1.
 *
 * @throws ConfigError naming every field whose file could not be read (with the first read
 *   error as `cause`).
 */
export async function resolveEnvironmentDefinition(
  config: InferenceConfig,
  readFile: ConfigFileReader,
  options: ResolveEnvironmentOptions = {},
): Promise<EnvironmentDefinition> {
  const file = options.file ?? 'inferenceconfig.json';
  const env = config.environment;
  const paths = inferenceConfigPaths(config, options.configDirectory ?? '');
  const issues: ConfigIssue[] = [];
  let firstError: unknown;
  const read = async (reference: ReferencedPath | undefined): Promise<string | undefined> => {
    if (reference === undefined) return undefined;
    try {
      return await readFile(reference.resolved, reference);
    } catch (error) {
      firstError ??= error;
      // Name the path that was looked for, and what it was relative to: the v1 rule
      // (relative to sourceDirectory) surprises users whose files sit beside the config.
      const relative =
        reference.resolved === reference.written
          ? ''
          : ` (${JSON.stringify(reference.written)} relative to ${PATH_BASE_NAMES[reference.relativeTo]})`;
      issues.push({
        file,
        path: reference.field,
        message: `cannot read ${reference.resolved}${relative}: ${readFailure(error)}`,
      });
      return undefined;
    }
  };
  const fileOf = (field: string) => paths.environmentFiles.find((f) => f.field === field);

  const useConda = !env.userManagedDependencies;
  const [condaText, extraSteps, dockerfileText] = await Promise.all([
    read(fileOf('condaFile') ?? fileOf('environment.python.condaDependenciesFile')),
    read(fileOf('extraDockerfileSteps')),
    env.baseDockerfile?.kind === 'file'
      ? read(fileOf('environment.docker.baseDockerfile'))
      : env.baseDockerfile?.text,
  ]);
  if (issues.length > 0) throw new ConfigError(issues, { cause: firstError });

  const condaDependencies =
    condaText ??
    (useConda && env.condaDependencies !== null ? stringify(env.condaDependencies) : undefined);
  const definition: EnvironmentDefinition = {
    // A base Dockerfile replaces the base image; the hash treats an empty image as none.
    baseImage: env.baseImage ?? '',
    enableGpu: env.enableGpu,
  };
  if (env.baseImageRegistry?.address) definition.baseImageRegistry = env.baseImageRegistry.address;
  if (dockerfileText !== undefined) definition.baseDockerfile = dockerfileText;
  if (extraSteps !== undefined) definition.extraDockerfileSteps = extraSteps;
  if (condaDependencies !== undefined) definition.condaDependencies = condaDependencies;
  if (env.cudaVersion !== null) definition.cudaVersion = env.cudaVersion;
  return definition;
}
