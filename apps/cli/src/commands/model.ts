import { resolve } from 'node:path';
import { Model, type ModelRef } from '@skiff/proto';
import type { Command } from 'commander';
import {
  reportFailure,
  runOnline,
  UsageError,
  withConnectionOptions,
  type ConnectionFlags,
} from '../connection/session.js';
import { addInlineFlags, readInlineFlags } from '../deploy/inline-flags.js';
import { prepareDeployment, startDeployment, type PreparedDeployment } from '../deploy/start.js';
import { waitForDeployment } from '../deploy/wait.js';
import { ExitCode, type CliIo } from '../io.js';
import {
  allPages,
  collect,
  keyValues,
  outputOption,
  printFields,
  printJson,
  printTable,
  timeText,
  type OutputFormat,
} from '../output.js';
import { action, type Invocation } from '../program.js';
import { parseEnvironmentRef } from './environment.js';
import { registerModelFileCommands } from './model-files.js';

/** `NAME[:VERSION]` as a model reference (no version: the latest), or undefined. */
export function modelRefOf(text: string): ModelRef | undefined {
  const match = /^([A-Za-z0-9._-]{1,255})(?::(\d+))?$/.exec(text);
  if (!match?.[1]) return undefined;
  return { name: match[1], version: match[2] === undefined ? 0 : Number(match[2]) };
}

/** Parses `-m NAME[:VERSION]` (no version: the latest, as the API's version 0 means). */
export function parseModelRef(text: string): ModelRef {
  const ref = modelRefOf(text);
  if (!ref) throw new UsageError(`-m: expected NAME or NAME:VERSION, got '${text}'`);
  return ref;
}

function printModel(io: CliIo, model: Model | undefined, format: OutputFormat): void {
  if (format === 'json') return printJson(io, model ? Model.toJSON(model) : {});
  if (!model) return;
  printFields(io, [
    ['Name', model.name],
    ['Version', String(model.version)],
    ['Digest', model.digest],
    ['Size', `${model.sizeBytes} bytes in ${model.fileCount} files`],
    ['Description', model.description],
    [
      'Tags',
      Object.entries(model.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    ],
    [
      'Properties',
      Object.entries(model.properties)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    ],
    ['Created', timeText(model.createTime)],
    ['Created by', model.createdBy],
  ]);
}

interface RegisterOptions extends ConnectionFlags {
  readonly name: string;
  readonly path: string;
  readonly description?: string;
  readonly tag?: string[];
  readonly property?: string[];
  readonly output: OutputFormat;
}

/** What `model deploy` and `service update` take. */
export interface DeployOptions extends ConnectionFlags {
  readonly name: string;
  readonly model?: string[];
  readonly ic?: string;
  readonly dc?: string;
  readonly ct?: string;
  readonly overwrite?: boolean;
  /** `-e NAME[:VERSION]`: a registered environment. */
  readonly environment?: string;
  readonly wait: boolean;
}

async function deploy(io: CliIo, options: DeployOptions): Promise<number> {
  // Files and compute target first, offline: a broken file is reported even when the control
  // plane is unreachable.
  let prepared: PreparedDeployment;
  try {
    prepared = await prepareDeployment(io, {
      name: options.name,
      models: (options.model ?? []).map(parseModelRef),
      ic: options.ic,
      dc: options.dc,
      flags: readInlineFlags(options),
      compute: options.ct,
      overwrite: options.overwrite ?? false,
    });
    if (options.environment !== undefined) {
      // A registered environment instead of an inline one: the control plane resolves it.
      const { inference } = prepared;
      const environmentReference = parseEnvironmentRef(options.environment);
      prepared = {
        ...prepared,
        inference: { ...inference, config: { ...inference.config, environmentReference } },
      };
    }
  } catch (error) {
    return reportFailure(io, error);
  }
  return runOnline(io, options, { workspace: true }, async (session) => {
    const generation = await startDeployment(session, prepared);
    if (!options.wait) {
      const flags = session.resumeFlags ? ` ${session.resumeFlags}` : '';
      io.out(
        `Not waiting. Watch it with: skiff service wait -n ${options.name}${flags} --generation ${generation}\n`,
      );
      return ExitCode.ok;
    }
    return waitForDeployment(session, options.name, generation);
  });
}

/** `skiff model register|list|show|deploy` (az ml model). */
export function registerModelCommands(program: Command, invocation: Invocation): void {
  const io = invocation.io;
  const model = program
    .command('model')
    .description('Registered models (versioned file trees) and deploying them as web services');

  withConnectionOptions(
    model
      .command('register')
      .description(
        'Register a file or directory as the next version of a model. Uploads every file ' +
          '(nothing is ignored) with its sha256 tree digest; identical content is stored once.',
      )
      .requiredOption('-n, --name <name>', 'model name: letters, digits, -, _ and .')
      .requiredOption('-p, --path <path>', 'model file or directory')
      .option('-d, --description <text>', 'description')
      .option('--tag <key=value>', 'tag (repeatable)', collect)
      .option('--property <key=value>', 'property (repeatable)', collect)
      .addOption(outputOption())
      .addHelpText(
        'after',
        '\nExample:\n  skiff model register -n iris -p ./outputs/model --tag stage=dev',
      ),
  ).action(
    action(invocation, (options: RegisterOptions) =>
      runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
        const tags = keyValues(options.tag, '--tag');
        const properties = keyValues(options.property, '--property');
        const registered = await client.models.registerModel(resolve(io.cwd, options.path), {
          workspace,
          name: options.name,
          tags,
          properties,
          ...(options.description === undefined ? {} : { description: options.description }),
        });
        const m = registered.model;
        if (options.output === 'json') printJson(io, m ? Model.toJSON(m) : {});
        else
          io.out(
            `Registered model ${m?.name}:${m?.version} (${m?.digest}, ${m?.fileCount} files, ${m?.sizeBytes} bytes${registered.deduplicated ? ', content already stored' : ''}).\n`,
          );
        return ExitCode.ok;
      }),
    ),
  );

  withConnectionOptions(
    model
      .command('list')
      .description('List registered model versions')
      .option('-n, --name <name>', "only this model's versions")
      .option('--latest', 'only the latest version of each model')
      .addOption(outputOption())
      .addHelpText('after', '\nExamples:\n  skiff model list\n  skiff model list -n iris -o json'),
  ).action(
    action(
      invocation,
      (options: ConnectionFlags & { name?: string; latest?: boolean; output: OutputFormat }) =>
        runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
          const models = await allPages(async (pageToken) => {
            const page = await client.models.list({
              workspace,
              name: options.name ?? '',
              latestOnly: options.latest ?? false,
              pageToken,
            });
            return { items: page.models, nextPageToken: page.nextPageToken };
          });
          if (options.output === 'json')
            printJson(
              io,
              models.map((m) => Model.toJSON(m)),
            );
          else
            printTable(
              io,
              ['NAME', 'VERSION', 'FILES', 'BYTES', 'CREATED', 'DIGEST'],
              models.map((m) => [
                m.name,
                String(m.version),
                String(m.fileCount),
                String(m.sizeBytes),
                timeText(m.createTime),
                m.digest,
              ]),
              'No models.',
            );
          return ExitCode.ok;
        }),
    ),
  );

  withConnectionOptions(
    model
      .command('show')
      .description('Show one model version (default: the latest)')
      .requiredOption('-n, --name <name>', 'model name')
      .option('-v, --version <version>', 'version number (default: the latest)')
      .addOption(outputOption())
      .addHelpText('after', '\nExample:\n  skiff model show -n iris -v 2'),
  ).action(
    action(
      invocation,
      (options: ConnectionFlags & { name: string; version?: string; output: OutputFormat }) =>
        runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
          const version = options.version === undefined ? 0 : Number(options.version);
          if (!Number.isInteger(version) || version < 0) {
            throw new UsageError(`-v: expected a version number, got '${options.version}'`);
          }
          const { model: found } = await client.models.get({
            workspace,
            name: options.name,
            version,
          });
          printModel(io, found, options.output);
          return ExitCode.ok;
        }),
    ),
  );

  const deployCommand = withConnectionOptions(
    model
      .command('deploy')
      .description(
        'Deploy models as a web service from Azure ML v1 inferenceconfig.json and ' +
          'deploymentconfig.json and/or the v1 inline flags, which override the files: ' +
          'uploads the source snapshot when the control plane lacks it, then waits for the ' +
          'deployment and prints one line per step and the scoring URI (exit 0 Healthy, ' +
          '1 Failed). Ctrl-C stops waiting, not the deployment.',
      )
      .requiredOption('-n, --name <service>', 'service name, a DNS label of 3-32 characters')
      .option(
        '-m, --model <name:version>',
        'model to deploy (repeatable; no version: the latest)',
        collect,
      )
      .option(
        '--ic <file>',
        'inference configuration (.json, .yml or .yaml), either v1 shape (or the inline flags)',
      )
      .option(
        '--dc <file>',
        'deployment configuration (.json, .yml or .yaml), aks or local (default: the defaults and the inline flags)',
      )
      .option(
        '--ct <name>',
        "compute target to deploy to (default: the deployment configuration's computeTargetName)",
      )
      .option(
        '-e, --environment <name[:version]>',
        "registered environment to use instead of the inference configuration's (skiff environment register)",
      )
      .option('--overwrite', 'replace an existing service of the same name')
      .option('--no-wait', 'return once the deployment is queued')
      .addHelpText(
        'after',
        '\nExamples:\n  skiff model deploy -n iris-svc -m iris:1 --ic inferenceconfig.json \\\n' +
          '    --dc deploymentconfig.json --ct aks1 --overwrite\n' +
          '  skiff model deploy -n iris-svc -m iris:1 --es score.py --sd . --rt python \\\n' +
          '    --cf env.yml --ct aks1 --cc 0.5 --gb 1 --ma 4',
      ),
  );
  addInlineFlags(deployCommand).action(
    action(invocation, (options: DeployOptions) => deploy(io, options)),
  );

  registerModelFileCommands(model, invocation);
}
