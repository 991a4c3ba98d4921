import {
  checkDeploymentConfigFile,
  checkInferenceConfigFile,
  configFileAt,
  formatConfigIssue,
  type ConfigIssue,
  type DeploymentConfig,
  type InferenceConfig,
} from '@skiff/config';
import type { Command } from 'commander';
import { ExitCode, type CliIo } from '../io.js';
import { action, type Invocation } from '../program.js';

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

interface CheckOptions {
  readonly ic?: string;
  readonly dc?: string;
  readonly showSecrets?: boolean;
}

// Reads both files through @skiff/config's reader, as every deploying command does, so a file
// that passes here deploys: same formats, same paths, same referenced files checked.
async function check(io: CliIo, options: CheckOptions): Promise<number> {
  const issues: ConfigIssue[] = [];
  const output: { inferenceConfig?: InferenceConfig; deploymentConfig?: DeploymentConfig } = {};

  let enableGpu = false;
  if (options.ic !== undefined) {
    const result = await checkInferenceConfigFile(configFileAt(io.cwd, options.ic));
    if (result.ok) {
      const config = result.config.config;
      enableGpu = config.environment.enableGpu;
      output.inferenceConfig = options.showSecrets ? config : redactInference(config);
    } else issues.push(...result.issues);
  }
  if (options.dc !== undefined) {
    const result = await checkDeploymentConfigFile(configFileAt(io.cwd, options.dc), {
      enableGpu,
    });
    if (result.ok) {
      output.deploymentConfig = options.showSecrets
        ? result.config
        : redactDeployment(result.config);
    } else issues.push(...result.issues);
  }
  if (issues.length > 0) return reportIssues(io, issues);
  io.out(`${JSON.stringify(output, null, 2)}\n`);
  return ExitCode.ok;
}

/** `skiff config check`: validates v1 config files and prints them normalized. */
export function registerConfigCommands(program: Command, invocation: Invocation): void {
  const config = program
    .command('config')
    .description(
      'Azure ML v1 configuration files (inferenceconfig, deploymentconfig; JSON or YAML)',
    );

  config
    .command('check')
    .description(
      'Validate an inference and/or a deployment configuration, JSON or YAML, and the files ' +
        'the inference configuration names (entryScript, condaFile, extraDockerfileSteps: ' +
        'relative to sourceDirectory, as in v1). Prints the normalized configuration as JSON ' +
        '(every default filled) and exits 0, or prints one line per problem on stderr and exits 1.',
    )
    .option('--ic <file>', 'inference configuration (.json, .yml or .yaml), either v1 shape')
    .option('--dc <file>', 'deployment configuration (.json, .yml or .yaml), aks or local')
    .option('--show-secrets', 'print registry passwords and service keys instead of <redacted>')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  skiff config check --ic inferenceconfig.json --dc deploymentconfig.json\n' +
        '  skiff config check --dc deploymentconfig.yml',
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
