import type { EnvironmentDefinition } from '@skiff/hashing';
import { stringify } from 'yaml';
import type { InferenceConfig } from './inference-config.js';
import { ConfigError, type ConfigIssue } from './issues.js';

/**
 * Reads a file named in an inference configuration. Receives the path exactly as the
 * configuration wrote it; the caller resolves it against the inference configuration's own
 * directory (absolute paths stay as they are).
 */
export type ConfigFileReader = (path: string) => Promise<string>;

/** Options of {@link resolveEnvironmentDefinition}. */
export interface ResolveEnvironmentOptions {
  /** File name used in issues; default `inferenceconfig.json`. */
  readonly file?: string;
}

/**
 * Turns a normalized inference configuration into the environment definition that
 * `environmentHash` (`@skiff/hashing`) hashes and the image build uses: reads the conda file,
 * extra Dockerfile steps and base Dockerfile through `readFile`, renders an inline conda
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
  const flat = config.shape === 'flat';
  const issues: ConfigIssue[] = [];
  let firstError: unknown;
  const read = async (fieldPath: string, path: string | null): Promise<string | undefined> => {
    if (path === null) return undefined;
    try {
      return await readFile(path);
    } catch (error) {
      firstError ??= error;
      const reason = error instanceof Error ? error.message : String(error);
      issues.push({
        file,
        path: fieldPath,
        message: `cannot read ${JSON.stringify(path)}: ${reason}`,
      });
      return undefined;
    }
  };

  const useConda = !env.userManagedDependencies;
  const [condaText, extraSteps, dockerfileText] = await Promise.all([
    useConda
      ? read(flat ? 'condaFile' : 'environment.python.condaDependenciesFile', env.condaFile)
      : undefined,
    read('extraDockerfileSteps', env.extraDockerfileSteps),
    env.baseDockerfile?.kind === 'file'
      ? read('environment.docker.baseDockerfile', env.baseDockerfile.path)
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
