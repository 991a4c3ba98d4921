import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  checkDeploymentConfig,
  checkInferenceConfig,
  ConfigError,
  formatConfigIssue,
  parseConfigJson,
  resolveEnvironmentDefinition,
  type ConfigIssue,
  type DeploymentConfig,
  type InferenceConfig,
} from '@skiff/config';
import type { Command } from 'commander';
import { ExitCode, type CliIo } from '../io.js';
import { action, type Invocation } from '../program.js';

/** A config file named on the command line, as typed (for messages) and resolved. */
export interface ConfigFile {
  readonly label: string;
  readonly path: string;
}

/** Resolves a `--ic`/`--dc` argument against the invocation's working directory. */
export function configFile(io: CliIo, argument: string): ConfigFile {
  return { label: argument, path: resolve(io.cwd, argument) };
}

/**
 * Reads and parses a JSON config file. A file that cannot be read becomes a ConfigError too,
 * so every problem is reported the same way.
 */
export async function readConfigJson(file: ConfigFile): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file.path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? `no such file (looked for ${file.path})`
        : code === 'EISDIR'
          ? 'is a directory, expected a JSON file'
          : `cannot be read: ${error instanceof Error ? error.message : String(error)}`;
    throw new ConfigError([{ file: file.label, path: '', message: reason }], { cause: error });
  }
  return parseConfigJson(text, file.label);
}

/** A reader for the files an inference configuration names, relative to its directory. */
export function readerBeside(file: ConfigFile): (path: string) => Promise<string> {
  return (path) => readFile(resolve(dirname(file.path), path), 'utf8');
}

/** Writes each issue on its own line to stderr and returns the "failed" exit code. */
export function reportIssues(io: CliIo, issues: readonly ConfigIssue[]): number {
  for (const issue of issues) io.err(`${formatConfigIssue(issue)}\n`);
  return ExitCode.failed;
}

const REDACTED = '<redacted>';

function redactInference(config: InferenceConfig): InferenceConfig {
  const registry = config.environment.baseImageRegistry;
  if (registry?.password == null) return config;
  return {
    ...config,
    environment: {
      ...config.environment,
      baseImageRegistry: { ...registry, password: REDACTED },
    },
  };
}

function redactDeployment(config: DeploymentConfig): DeploymentConfig {
  const { primaryKey, secondaryKey } = config.keys;
  return {
    ...config,
    keys: {
      primaryKey: primaryKey === null ? null : REDACTED,
      secondaryKey: secondaryKey === null ? null : REDACTED,
    },
  };
}

// Files the inference configuration names must exist; found now rather than at deploy time.
async function referencedFileIssues(
  file: ConfigFile,
  config: InferenceConfig,
): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const base = dirname(file.path);
  const sourceDirectory = resolve(base, config.sourceDirectory ?? '.');
  if (config.sourceDirectory !== null) {
    const isDirectory = await stat(sourceDirectory).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDirectory) {
      issues.push({
        file: file.label,
        path: 'sourceDirectory',
        message: `expected a directory, found none at ${sourceDirectory}`,
      });
    }
  }
  const script = resolve(sourceDirectory, config.entryScript);
  if (
    issues.length === 0 &&
    !(await stat(script).then(
      (s) => s.isFile(),
      () => false,
    ))
  ) {
    issues.push({ file: file.label, path: 'entryScript', message: `no such file: ${script}` });
  }
  try {
    await resolveEnvironmentDefinition(config, readerBeside(file), { file: file.label });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  return issues;
}

interface CheckOptions {
  readonly ic?: string;
  readonly dc?: string;
  readonly showSecrets?: boolean;
}

async function check(io: CliIo, options: CheckOptions): Promise<number> {
  const issues: ConfigIssue[] = [];
  const output: { inferenceConfig?: InferenceConfig; deploymentConfig?: DeploymentConfig } = {};
  const collect = (error: unknown) => {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  };

  let enableGpu = false;
  if (options.ic !== undefined) {
    const file = configFile(io, options.ic);
    try {
      const result = checkInferenceConfig(await readConfigJson(file), { file: file.label });
      if (result.ok) {
        enableGpu = result.config.environment.enableGpu;
        issues.push(...(await referencedFileIssues(file, result.config)));
        output.inferenceConfig = options.showSecrets
          ? result.config
          : redactInference(result.config);
      } else issues.push(...result.issues);
    } catch (error) {
      collect(error);
    }
  }
  if (options.dc !== undefined) {
    const file = configFile(io, options.dc);
    try {
      const result = checkDeploymentConfig(await readConfigJson(file), {
        file: file.label,
        enableGpu,
      });
      if (result.ok) {
        output.deploymentConfig = options.showSecrets
          ? result.config
          : redactDeployment(result.config);
      } else issues.push(...result.issues);
    } catch (error) {
      collect(error);
    }
  }
  if (issues.length > 0) return reportIssues(io, issues);
  io.out(`${JSON.stringify(output, null, 2)}\n`);
  return ExitCode.ok;
}

/** `skiff config check`: validates v1 config files and prints them normalized. */
export function registerConfigCommands(program: Command, invocation: Invocation): void {
  const config = program
    .command('config')
    .description('Azure ML v1 configuration files (inferenceconfig.json, deploymentconfig.json)');

  config
    .command('check')
    .description(
      'Validate an inference and/or a deployment configuration. Prints the normalized ' +
        'configuration as JSON (every default filled) and exits 0, or prints one line per ' +
        'problem on stderr and exits 1.',
    )
    .option('--ic <file>', 'inference configuration (inferenceconfig.json), either v1 shape')
    .option('--dc <file>', 'deployment configuration (deploymentconfig.json), aks or local')
    .option('--show-secrets', 'print registry passwords and service keys instead of <redacted>')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  skiff config check --ic inferenceconfig.json --dc deploymentconfig.json\n' +
        '  skiff config check --dc deploymentconfig.json',
    )
    .action(
      action(invocation, async (options: CheckOptions, command: Command) => {
        if (options.ic === undefined && options.dc === undefined) {
          // Throws a CommanderError, which main maps to the usage exit code.
          command.error('error: give --ic <file>, --dc <file> or both', {
            exitCode: ExitCode.usage,
            code: 'skiff.missingOption',
          });
        }
        return check(invocation.io, options);
      }),
    );
}
