import { RegisteredEnvironment, type EnvironmentReference } from '@skiff/proto';
import type { Command } from 'commander';
import {
  reportFailure,
  runOnline,
  UsageError,
  withConnectionOptions,
  type ConnectionFlags,
} from '../connection/session.js';
import { ExitCode, type CliIo } from '../io.js';
import {
  allPages,
  outputOption,
  printFields,
  printJson,
  printTable,
  timeText,
  type OutputFormat,
} from '../output.js';
import { action, type Invocation } from '../program.js';
import { readEnvironmentFile, type EnvironmentFile } from './environment-file.js';

/** Parses `-e NAME[:VERSION]` (no version: the latest at deploy time, the API's version 0). */
export function parseEnvironmentRef(text: string, flag = '-e'): EnvironmentReference {
  const match = /^([A-Za-z0-9._-]{1,255})(?::(\d+))?$/.exec(text);
  if (!match?.[1] || /^\.+$/.test(match[1])) {
    throw new UsageError(`${flag}: expected NAME or NAME:VERSION, got '${text}'`);
  }
  return { name: match[1], version: match[2] === undefined ? 0 : Number(match[2]) };
}

function printEnvironment(
  io: CliIo,
  env: RegisteredEnvironment | undefined,
  format: OutputFormat,
): void {
  if (format === 'json') return printJson(io, env ? RegisteredEnvironment.toJSON(env) : {});
  if (!env) return;
  const d = env.definition;
  const registry = d?.docker?.baseImageRegistry?.address;
  printFields(io, [
    ['Name', env.name],
    ['Version', String(env.version)],
    ['Environment hash', env.environmentHash],
    [
      'Base image',
      d?.docker?.baseDockerfile
        ? '(base Dockerfile)'
        : `${d?.docker?.baseImage ?? ''}${registry ? ` (registry ${registry})` : ''}`,
    ],
    ['GPU', d?.enableGpu ? `yes${d.cudaVersion ? `, CUDA ${d.cudaVersion}` : ''}` : 'no'],
    [
      'Python',
      d?.python?.userManagedDependencies
        ? 'user-managed (no conda environment is built)'
        : d?.python?.condaDependencies
          ? 'conda environment (-o json shows it)'
          : '',
    ],
    ['Docker steps', d?.extraDockerfileSteps ? 'yes (-o json shows them)' : ''],
    [
      'Variables',
      Object.entries(d?.environmentVariables ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    ],
    ['Created', timeText(env.createTime)],
    ['Created by', env.createdBy],
  ]);
}

interface RegisterOptions extends ConnectionFlags {
  readonly name?: string;
  readonly file?: string;
  readonly directory?: string;
  readonly output: OutputFormat;
}

async function register(io: CliIo, options: RegisterOptions): Promise<number> {
  // The file is read and checked before the control plane is contacted.
  let read: EnvironmentFile;
  let name: string;
  try {
    const sources = [options.file, options.directory].filter((v) => v !== undefined);
    if (sources.length !== 1) {
      throw new UsageError(
        'environment register: give the definition as -f FILE, or -d DIRECTORY (v1: its azureml_environment.json)',
      );
    }
    read = await readEnvironmentFile(io, sources[0] ?? '');
    // v1 took the name from the file; -n names it (and wins).
    const fromFile = read.kind === 'azureml' ? read.definition.name : '';
    name = options.name ?? fromFile;
    if (name === '') {
      throw new UsageError(`environment register: name it with -n (${read.label} has no name)`);
    }
  } catch (error) {
    return reportFailure(io, error);
  }
  return runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
    const { environment: env, created } = await client.environments.register({
      workspace,
      name,
      definition: read.definition,
    });
    if (options.output === 'json') printJson(io, env ? RegisteredEnvironment.toJSON(env) : {});
    else
      io.out(
        created
          ? `Registered environment ${env?.name}:${env?.version} (${env?.environmentHash}).\n`
          : `Environment ${env?.name}:${env?.version} already has this definition (${env?.environmentHash}); nothing new registered.\n`,
      );
    return ExitCode.ok;
  });
}

/** `skiff environment register|list|show` (az ml environment). */
export function registerEnvironmentCommands(program: Command, invocation: Invocation): void {
  const io = invocation.io;
  const environment = program
    .command('environment')
    .description(
      'Registered environments: named, versioned Azure ML v1 environment definitions that ' +
        'model deploy and service update use with -e NAME[:VERSION] (az ml environment)',
    );

  withConnectionOptions(
    environment
      .command('register')
      .description(
        'Register an environment definition as the next version of its name: an ' +
          'azureml_environment.json (the v1 Environment, JSON or YAML; what az ml environment ' +
          'scaffold writes), a directory holding one (v1 -d), or a conda file ' +
          '(Environment.from_conda_specification). The same definition as the latest version ' +
          'registers nothing new.',
      )
      .option('-n, --name <name>', "environment name (default: the file's name field)")
      .option('-f, --file <file>', 'azureml_environment.json (or .yml), or a conda file')
      .option('-d, --directory <dir>', "a directory with azureml_environment.json, as v1's -d")
      .addOption(outputOption())
      .addHelpText(
        'after',
        '\nExamples:\n  skiff environment register -n sklearn -f environment.yml\n' +
          '  skiff environment register -d ./myenv      # ./myenv/azureml_environment.json',
      ),
  ).action(action(invocation, (options: RegisterOptions) => register(io, options)));

  withConnectionOptions(
    environment
      .command('list')
      .description('List registered environment versions')
      .option('-n, --name <name>', "only this environment's versions")
      .option('--latest', 'only the latest version of each environment')
      .addOption(outputOption())
      .addHelpText('after', '\nExample:\n  skiff environment list --latest'),
  ).action(
    action(
      invocation,
      (options: ConnectionFlags & { name?: string; latest?: boolean; output: OutputFormat }) =>
        runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
          const all = await allPages(async (pageToken) => {
            const page = await client.environments.list({
              workspace,
              name: options.name ?? '',
              latestOnly: options.latest ?? false,
              pageToken,
            });
            return { items: page.environments, nextPageToken: page.nextPageToken };
          });
          if (options.output === 'json')
            printJson(
              io,
              all.map((e) => RegisteredEnvironment.toJSON(e)),
            );
          else
            printTable(
              io,
              ['NAME', 'VERSION', 'CREATED', 'ENVIRONMENT HASH'],
              all.map((e) => [
                e.name,
                String(e.version),
                timeText(e.createTime),
                e.environmentHash,
              ]),
              'No environments.',
            );
          return ExitCode.ok;
        }),
    ),
  );

  withConnectionOptions(
    environment
      .command('show')
      .description('Show one environment version (default: the latest)')
      .requiredOption('-n, --name <name[:version]>', 'environment name, optionally :version')
      .option('-v, --version <version>', 'version number (default: the latest)')
      .addOption(outputOption())
      .addHelpText(
        'after',
        '\nExamples:\n  skiff environment show -n sklearn:2\n  skiff environment show -n sklearn -o json',
      ),
  ).action(
    action(
      invocation,
      (options: ConnectionFlags & { name: string; version?: string; output: OutputFormat }) => {
        let ref: EnvironmentReference;
        try {
          ref = parseEnvironmentRef(options.name, '-n');
          if (options.version !== undefined) {
            const version = Number(options.version);
            if (!Number.isInteger(version) || version < 1)
              throw new UsageError(`-v: expected a version number, got '${options.version}'`);
            ref = { name: ref.name, version };
          }
        } catch (error) {
          return reportFailure(io, error);
        }
        return runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
          const { environment: env } = await client.environments.get({ workspace, ...ref });
          printEnvironment(io, env, options.output);
          return ExitCode.ok;
        });
      },
    ),
  );
}
