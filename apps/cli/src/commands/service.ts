import {
  GetWebserviceKeysResponse,
  GetWebserviceTokenResponse,
  KeyType,
  LogLine,
  Webservice,
  authModeToJSON,
  webserviceStateToJSON,
  type EnvironmentReference,
  type InferenceConfig,
  type WebserviceSpec,
} from '@skiff/proto';
import { Option, type Command } from 'commander';
import {
  reportFailure,
  runOnline,
  UsageError,
  withConnectionOptions,
  type ConnectionFlags,
} from '../connection/session.js';
import {
  loadDeploymentConfig,
  loadInferenceConfig,
  type LoadedInferenceConfig,
} from '../deploy/configs.js';
import { interruptOnSigint } from '../deploy/interrupt.js';
import { ensureSnapshot } from '../deploy/snapshot.js';
import {
  addInlineFlags,
  deploymentMask,
  readInlineFlags,
  type InlineFlags,
} from '../deploy/inline-flags.js';
import { waitForDeployment } from '../deploy/wait.js';
import { ExitCode, type CliIo } from '../io.js';
import {
  allPages,
  collect,
  enumLabel,
  outputOption,
  printFields,
  printJson,
  printTable,
  timeText,
  type OutputFormat,
} from '../output.js';
import { action, type Invocation } from '../program.js';
import { parseEnvironmentRef } from './environment.js';
import { parseModelRef } from './model.js';
import { registerServiceRunCommand } from './service-run.js';

const state = (ws: Webservice) => enumLabel(webserviceStateToJSON(ws.state), 'WEBSERVICE_STATE_');
const models = (ws: Webservice) =>
  (ws.spec?.models ?? [])
    .map((m) => `${m.name}:${m.version === 0 ? 'latest' : m.version}`)
    .join(', ');

/** "2 ready of 3 desired (3 running, 1 in flight, 4 queued)". */
function replicasText(ws: Webservice): string {
  const r = ws.replicas;
  const load = [
    `${r?.current ?? 0} running`,
    `${r?.inFlight ?? 0} in flight`,
    `${r?.queued ?? 0} queued`,
  ].join(', ');
  return `${r?.ready ?? 0} ready of ${r?.desired ?? 0} desired (${load})`;
}

/** The autoscaler's last decision, or why there is none. */
function scalingText(ws: Webservice): string {
  const last = ws.lastScaleDecision;
  if (last) return `${timeText(last.time)} #${last.sequence} ${last.kind}: ${last.reason}`;
  const dc = ws.spec?.deploymentConfig;
  return dc?.numReplicas !== undefined ? 'fixed replica count (numReplicas)' : 'no decision yet';
}

function printService(io: CliIo, ws: Webservice | undefined, format: OutputFormat): void {
  if (format === 'json') return printJson(io, ws ? Webservice.toJSON(ws) : {});
  if (!ws) return;
  printFields(io, [
    ['Name', ws.name],
    ['Workspace', ws.workspace],
    ['State', state(ws)],
    ['Error', ws.error ? `${ws.error.code}: ${ws.error.message}` : ''],
    ['Scoring URI', ws.scoringUri],
    ['Swagger URI', ws.swaggerUri],
    ['Auth', enumLabel(authModeToJSON(ws.authMode), 'AUTH_MODE_')],
    ['Compute', ws.spec?.compute ?? ''],
    ['Models', models(ws)],
    ['Replicas', replicasText(ws)],
    ['Last scaling', scalingText(ws)],
    ['Generation', `${ws.generation} (applied: ${ws.appliedGeneration})`],
    ['Environment', ws.environmentHash],
    ['Created', timeText(ws.createTime)],
    ['Updated', timeText(ws.updateTime)],
    ['Updated by', ws.updatedBy],
  ]);
}

type Named = ConnectionFlags & { name: string };

/** An inference configuration that changes nothing but what an update mask names. */
const emptyInference: InferenceConfig = {
  entryScript: '',
  runtime: '',
  sourceDirectory: '',
  description: '',
};

/**
 * The deployment flags, with `--tag`/`--property` added to the service's current maps: an update
 * mask replaces a map whole.
 */
function withCurrentMaps(
  flags: InlineFlags,
  current: WebserviceSpec['deploymentConfig'],
): InlineFlags['deployment'] {
  return flags.deployment.map((given) => {
    const field = given.flag.field;
    if (field !== 'tags' && field !== 'properties') return given;
    return { ...given, value: { ...current?.[field], ...(given.value as object) } };
  });
}

interface UpdateOptions extends Named {
  readonly model?: string[];
  readonly ic?: string;
  readonly dc?: string;
  /** `-e NAME[:VERSION]`: a registered environment. */
  readonly environment?: string;
  readonly wait: boolean;
}

async function update(io: CliIo, options: UpdateOptions): Promise<number> {
  // The files are read and checked before the control plane is contacted, so a broken file is
  // what the user hears about, not an unreachable endpoint.
  let inference: LoadedInferenceConfig | undefined;
  let environmentReference: EnvironmentReference | undefined;
  let flags: InlineFlags;
  try {
    flags = readInlineFlags(options);
    const inferenceFlags = flags.inference.length > 0;
    const deploymentFlags = flags.deployment.length > 0;
    if (
      options.model === undefined &&
      options.ic === undefined &&
      options.dc === undefined &&
      options.environment === undefined &&
      !inferenceFlags &&
      !deploymentFlags
    ) {
      throw new UsageError('service update: give -m, --ic, --dc, -e and/or inline flags');
    }
    if (options.environment !== undefined)
      environmentReference = parseEnvironmentRef(options.environment);
    // Inference flags without --ic make a whole new inference configuration, as on deploy: the
    // service's source directory was the deployer's, not necessarily this disk's.
    if (options.ic !== undefined || inferenceFlags)
      inference = await loadInferenceConfig(io, options.ic, flags.inference);
    // Offline, the flags are checked against the defaults; the control plane checks them
    // again merged into the service's configuration.
    if (options.dc !== undefined || deploymentFlags) {
      await loadDeploymentConfig(io, options.dc, inference?.enableGpu ?? false, flags.deployment);
    }
  } catch (error) {
    return reportFailure(io, error);
  }
  return runOnline(io, options, { workspace: true }, async (session) => {
    const { client, workspace } = session;
    const spec: Partial<WebserviceSpec> = {};
    const mask: string[] = [];
    if (options.model !== undefined) {
      spec.models = options.model.map(parseModelRef);
      mask.push('models');
    }
    let enableGpu: boolean | undefined;
    if (inference !== undefined) {
      enableGpu = inference.enableGpu;
      spec.inferenceConfig = inference.config;
      spec.snapshotDigest = await ensureSnapshot(client, workspace, io, inference);
      mask.push('inference_config', 'snapshot_digest');
    }
    if (environmentReference) {
      // With --ic the new configuration carries it; alone, it replaces the environment.
      spec.inferenceConfig = { ...(spec.inferenceConfig ?? emptyInference), environmentReference };
      if (!inference)
        mask.push('inference_config.environment_reference', 'inference_config.environment');
    }
    if (options.dc !== undefined || flags.deployment.length > 0) {
      // GPU defaults of a deployment config follow the service's environment.
      const current = (await client.webservices.get({ workspace, name: options.name })).webservice
        ?.spec;
      enableGpu ??= current?.inferenceConfig?.environment?.enableGpu;
      // Read again: its GPU default follows the service's environment, known only now. A
      // computeTargetName in it is ignored: a service stays on its compute. Tags and
      // properties of flags alone add to the service's.
      const loaded = await loadDeploymentConfig(
        io,
        options.dc,
        enableGpu ?? false,
        options.dc === undefined
          ? withCurrentMaps(flags, current?.deploymentConfig)
          : flags.deployment,
      );
      spec.deploymentConfig = loaded.config;
      // With --dc the whole configuration; flags alone change only their fields.
      mask.push(
        ...(options.dc !== undefined ? ['deployment_config'] : deploymentMask(flags.deployment)),
      );
    }
    const { webservice, operationId } = await client.webservices.update({
      workspace,
      name: options.name,
      spec,
      updateMask: mask,
    });
    const generation = webservice?.generation ?? 0;
    io.out(`Updating ${options.name} (generation ${generation}): operation ${operationId}\n`);
    if (!options.wait) return ExitCode.ok;
    return waitForDeployment(session, options.name, generation);
  });
}

interface LogsOptions extends Named {
  readonly tail?: string;
  readonly follow?: boolean;
  readonly replica?: string;
  readonly output: OutputFormat;
}

async function logs(io: CliIo, options: LogsOptions): Promise<number> {
  return runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
    const tail = options.tail === undefined ? 0 : Number(options.tail);
    if (!Number.isInteger(tail) || tail < 1 || tail > 10_000) {
      if (options.tail !== undefined)
        throw new UsageError(
          `--tail: expected a line count from 1 to 10000, got '${options.tail}'`,
        );
    }
    // Following ends on Ctrl-C, which is how a user stops it: exit 0.
    const interrupt = options.follow ? interruptOnSigint() : undefined;
    try {
      for await (const { lines } of client.webservices.logs(
        {
          workspace,
          name: options.name,
          tail,
          follow: options.follow ?? false,
          replica: options.replica ?? '',
        },
        interrupt ? { signal: interrupt.signal } : {},
      )) {
        for (const line of lines) {
          io.out(
            options.output === 'json'
              ? `${JSON.stringify(LogLine.toJSON(line))}\n`
              : `[${line.replica}] ${line.text}\n`,
          );
        }
      }
    } finally {
      interrupt?.dispose();
    }
    return ExitCode.ok;
  });
}

/** `skiff service show|list|update|delete|wait|get-logs|get-keys|regen-key|get-access-token`. */
export function registerServiceCommands(program: Command, invocation: Invocation): void {
  const io = invocation.io;
  const service = program
    .command('service')
    .description('Web services: deployed models behind a scoring URL (az ml service)');
  const named = (command: Command) =>
    withConnectionOptions(command.requiredOption('-n, --name <service>', 'service name'));

  named(
    service
      .command('show')
      .description('Show a service: state, scoring URI, replicas, generation, error')
      .addOption(outputOption())
      .addHelpText('after', '\nExample:\n  skiff service show -n iris-svc -o json'),
  ).action(
    action(invocation, (options: Named & { output: OutputFormat }) =>
      runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
        const { webservice } = await client.webservices.get({ workspace, name: options.name });
        printService(io, webservice, options.output);
        return ExitCode.ok;
      }),
    ),
  );

  withConnectionOptions(
    service
      .command('list')
      .description("List the workspace's services")
      .option('--compute <name>', 'only services on this compute target')
      .option('--model-name <name>', 'only services using this model')
      .addOption(outputOption())
      .addHelpText('after', '\nExample:\n  skiff service list --compute aks1'),
  ).action(
    action(
      invocation,
      (options: ConnectionFlags & { compute?: string; modelName?: string; output: OutputFormat }) =>
        runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
          const services = await allPages(async (pageToken) => {
            const page = await client.webservices.list({
              workspace,
              compute: options.compute ?? '',
              modelName: options.modelName ?? '',
              pageToken,
            });
            return { items: page.webservices, nextPageToken: page.nextPageToken };
          });
          if (options.output === 'json')
            printJson(
              io,
              services.map((ws) => Webservice.toJSON(ws)),
            );
          else
            printTable(
              io,
              ['NAME', 'STATE', 'COMPUTE', 'READY', 'GENERATION', 'SCORING URI'],
              services.map((ws) => [
                ws.name,
                state(ws),
                ws.spec?.compute ?? '',
                `${ws.replicas?.ready ?? 0}/${ws.replicas?.desired ?? 0}`,
                String(ws.generation),
                ws.scoringUri,
              ]),
              'No services.',
            );
          return ExitCode.ok;
        }),
    ),
  );

  const updateCommand = named(
    service
      .command('update')
      .description(
        'Change a service: new models (-m), a new inference configuration (--ic and/or the ' +
          'inference flags, which also upload the source snapshot when needed), a new ' +
          'deployment configuration (--dc), or single settings (the deployment flags alone ' +
          'change only their fields). Replicas roll over; waits like model deploy unless --no-wait.',
      )
      .option('-m, --model <name:version>', 'the models to serve from now on (repeatable)', collect)
      .option('--ic <file>', 'new inference configuration (.json, .yml or .yaml)')
      .option('--dc <file>', 'new deployment configuration (.json, .yml or .yaml)')
      .option('-e, --environment <name[:version]>', 'a registered environment from now on')
      .option('--no-wait', 'return once the update is queued')
      .addHelpText(
        'after',
        '\nExamples:\n  skiff service update -n iris-svc -m iris:2 --dc deploymentconfig.json\n' +
          '  skiff service update -n iris-svc --ma 5',
      ),
  );
  addInlineFlags(updateCommand).action(
    action(invocation, (options: UpdateOptions) => update(io, options)),
  );

  named(
    service
      .command('delete')
      .description('Delete a service and every resource it created (it shows Deleting until then)')
      .addHelpText('after', '\nExample:\n  skiff service delete -n iris-svc'),
  ).action(
    action(invocation, (options: Named) =>
      runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
        const { operationId } = await client.webservices.delete({ workspace, name: options.name });
        io.out(`Deleting ${options.name}: operation ${operationId}\n`);
        return ExitCode.ok;
      }),
    ),
  );

  named(
    service
      .command('wait')
      .description(
        'Follow a deployment (the latest generation by default) until it is Healthy (exit 0) ' +
          'or Failed (exit 1), printing one line per step: what model deploy does after queueing.',
      )
      .option('--generation <n>', 'generation to follow (default: the latest)')
      .addHelpText('after', '\nExample:\n  skiff service wait -n iris-svc --generation 3'),
  ).action(
    action(invocation, (options: Named & { generation?: string }) =>
      runOnline(io, options, { workspace: true }, async (session) => {
        let generation = options.generation === undefined ? 0 : Number(options.generation);
        if (!Number.isInteger(generation) || generation < 0)
          throw new UsageError(`--generation: expected a number, got '${options.generation}'`);
        if (generation === 0) {
          const { webservice } = await session.client.webservices.get({
            workspace: session.workspace,
            name: options.name,
          });
          generation = webservice?.generation ?? 0;
        }
        return waitForDeployment(session, options.name, generation);
      }),
    ),
  );

  named(
    service
      .command('get-logs')
      .description(
        "Print the replicas' logs: the last lines, and with --follow new ones until Ctrl-C",
      )
      .option('--tail <n>', 'how many of the last lines (server default 200, at most 10000)')
      .option('-f, --follow', 'keep printing new lines')
      .option('--replica <id>', "only this replica's lines")
      .addOption(outputOption())
      .addHelpText(
        'after',
        '\nExamples:\n  skiff service get-logs -n iris-svc --tail 50\n  skiff service get-logs -n iris-svc -f -o json',
      ),
  ).action(action(invocation, (options: LogsOptions) => logs(io, options)));

  named(
    service
      .command('get-keys')
      .description('Print the primary and secondary keys of a key-auth service')
      .addOption(outputOption())
      .addOption(
        new Option('--only <key>', 'print just this key, nothing else (for scripts)').choices([
          'primary',
          'secondary',
        ]),
      )
      .addHelpText(
        'after',
        '\nExamples:\n  skiff service get-keys -n iris-svc\n  KEY=$(skiff service get-keys -n iris-svc --only primary)',
      ),
  ).action(
    action(
      invocation,
      (options: Named & { output: OutputFormat; only?: 'primary' | 'secondary' }) =>
        runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
          const keys = await client.webservices.getKeys({ workspace, name: options.name });
          if (options.only) {
            io.out(`${options.only === 'primary' ? keys.primaryKey : keys.secondaryKey}\n`);
            return ExitCode.ok;
          }
          printKeys(io, keys, options.output);
          return ExitCode.ok;
        }),
    ),
  );

  named(
    service
      .command('regen-key')
      .description('Replace one key of a service; the old one stops working at once')
      .addOption(
        new Option('--key <which>', 'which key')
          .choices(['primary', 'secondary'])
          .makeOptionMandatory(),
      )
      .option('--set-key <value>', 'use this value instead of a generated one')
      .addOption(outputOption())
      .addHelpText('after', '\nExample:\n  skiff service regen-key -n iris-svc --key secondary'),
  ).action(
    action(
      invocation,
      (options: Named & { key: 'primary' | 'secondary'; setKey?: string; output: OutputFormat }) =>
        runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
          const keys = await client.webservices.regenerateKey({
            workspace,
            name: options.name,
            keyType:
              options.key === 'primary' ? KeyType.KEY_TYPE_PRIMARY : KeyType.KEY_TYPE_SECONDARY,
            keyValue: options.setKey ?? '',
          });
          printKeys(io, keys, options.output);
          return ExitCode.ok;
        }),
    ),
  );

  named(
    service
      .command('get-access-token')
      .description('Print a JWT for a token-auth service and the time by which to fetch a new one')
      .addOption(outputOption())
      .addHelpText('after', '\nExample:\n  skiff service get-access-token -n iris-svc -o json'),
  ).action(
    action(invocation, (options: Named & { output: OutputFormat }) =>
      runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
        const token = await client.webservices.getToken({ workspace, name: options.name });
        if (options.output === 'json') printJson(io, GetWebserviceTokenResponse.toJSON(token));
        else
          printFields(io, [
            ['Access token', token.accessToken],
            ['Token type', token.tokenType],
            ['Refresh by', timeText(token.refreshBy)],
          ]);
        return ExitCode.ok;
      }),
    ),
  );

  registerServiceRunCommand(service, invocation);
}

function printKeys(io: CliIo, keys: GetWebserviceKeysResponse, format: OutputFormat): void {
  if (format === 'json') return printJson(io, GetWebserviceKeysResponse.toJSON(keys));
  printFields(io, [
    ['Primary key', keys.primaryKey],
    ['Secondary key', keys.secondaryKey],
  ]);
}
