import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  ConfigError,
  configFileAt,
  parseInferenceConfig,
  readConfigDocument,
  resolveEnvironmentDefinition,
  type ConfigIssue,
} from '@skiff/config';
import type { Environment } from '@skiff/proto';
import { toApiEnvironment } from '../deploy/configs.js';
import type { CliIo } from '../io.js';

/** The file `az ml environment scaffold` wrote and `az ml environment register -d` read. */
export const V1_ENVIRONMENT_FILE = 'azureml_environment.json';

/** What `skiff environment register -f` read, in the API's shape. */
export interface EnvironmentFile {
  readonly definition: Environment;
  /** `azureml` (an Environment definition) or `conda` (a conda specification). */
  readonly kind: 'azureml' | 'conda';
  readonly label: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A conda specification (`Environment.from_conda_specification`), not an Environment
 * definition: `dependencies` (or `channels`) at the top and none of the Environment's sections.
 */
function isCondaSpecification(value: Record<string, unknown>): boolean {
  const environmentKeys = ['python', 'docker', 'environmentVariables', 'spark', 'databricks'];
  return (
    ('dependencies' in value || 'channels' in value) && !environmentKeys.some((key) => key in value)
  );
}

/**
 * Reads a v1 environment definition for `skiff environment register`:
 * - a directory, as `az ml environment register -d DIR` took: its `azureml_environment.json`;
 * - an Environment definition (`azureml_environment.json`, JSON or YAML): the `Environment`
 *   class's fields (`python`, `docker`, `environmentVariables`, ...), checked with the rules of
 *   an inference configuration's nested `environment`; `python.condaDependenciesFile` and a
 *   `docker.baseDockerfile` path are read relative to the file's directory, as v1 did;
 * - a conda specification (`environment.yml`), as `Environment.from_conda_specification`:
 *   the default base image with that conda environment.
 *
 * @throws ConfigError naming the file and every problem in it.
 */
export async function readEnvironmentFile(io: CliIo, argument: string): Promise<EnvironmentFile> {
  const given = configFileAt(io.cwd, argument);
  const isDirectory = await stat(given.path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const file = isDirectory
    ? { label: join(argument, V1_ENVIRONMENT_FILE), path: join(given.path, V1_ENVIRONMENT_FILE) }
    : given;
  const value = await readConfigDocument(file);
  if (!isRecord(value)) {
    throw new ConfigError([
      {
        file: file.label,
        path: '',
        message: 'expected an Azure ML environment definition or a conda specification (a mapping)',
      },
    ]);
  }
  if (isCondaSpecification(value)) {
    const text = await readFile(file.path, 'utf8');
    return {
      kind: 'conda',
      label: file.label,
      definition: emptyEnvironment({ python: conda(text) }),
    };
  }
  // The nested inference-configuration spelling carries exactly this object as `environment`:
  // one set of rules, with the issues' paths given back as the user's file spells them.
  let v1;
  try {
    v1 = parseInferenceConfig(
      { entryScript: 'score.py', environment: value },
      { file: file.label },
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(error.issues.map(unnest), { cause: error });
  }
  const resolved = await resolveEnvironmentDefinition(v1, (path) => readFile(path, 'utf8'), {
    file: file.label,
    configDirectory: dirname(file.path),
  }).catch((error: unknown) => {
    if (error instanceof ConfigError) throw new ConfigError(error.issues.map(unnest));
    throw error;
  });
  return {
    kind: 'azureml',
    label: file.label,
    definition: toApiEnvironment(v1.environment, resolved),
  };
}

function conda(text: string): NonNullable<Environment['python']> {
  return {
    condaDependencies: text,
    userManagedDependencies: false,
    interpreterPath: '',
    baseCondaEnvironment: '',
  };
}

function emptyEnvironment(overrides: Partial<Environment>): Environment {
  return {
    name: '',
    version: '',
    environmentVariables: {},
    extraDockerfileSteps: '',
    pipRequirements: '',
    enableGpu: false,
    cudaVersion: '',
    inferencingStackVersion: '',
    ...overrides,
  };
}

/** An issue about `environment.<path>` of the wrapped object, as a path of the user's file. */
function unnest(issue: ConfigIssue): ConfigIssue {
  return { ...issue, path: issue.path.replace(/^environment\.?/, '') };
}
