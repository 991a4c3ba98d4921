import {
  ClusterPurpose,
  ComputeKind,
  ComputeTarget,
  clusterPurposeToJSON,
  computeKindToJSON,
  computeStateToJSON,
} from '@skiff/proto';
import { Option, type Command } from 'commander';
import { runOnline, withConnectionOptions, type ConnectionFlags } from '../connection/session.js';
import { ExitCode, type CliIo } from '../io.js';
import {
  allPages,
  enumLabel,
  outputOption,
  printFields,
  printJson,
  printTable,
  timeText,
  type OutputFormat,
} from '../output.js';
import { action, type Invocation } from '../program.js';

const KINDS = {
  local: ComputeKind.COMPUTE_KIND_LOCAL,
  kubernetes: ComputeKind.COMPUTE_KIND_KUBERNETES,
};
const PURPOSES = {
  DevTest: ClusterPurpose.CLUSTER_PURPOSE_DEV_TEST,
  FastProd: ClusterPurpose.CLUSTER_PURPOSE_FAST_PROD,
  DenseProd: ClusterPurpose.CLUSTER_PURPOSE_DENSE_PROD,
};

const kind = (c: ComputeTarget) => enumLabel(computeKindToJSON(c.kind), 'COMPUTE_KIND_');
const state = (c: ComputeTarget) => enumLabel(computeStateToJSON(c.state), 'COMPUTE_STATE_');

function printCompute(io: CliIo, compute: ComputeTarget | undefined, format: OutputFormat): void {
  if (format === 'json') return printJson(io, compute ? ComputeTarget.toJSON(compute) : {});
  if (!compute) return;
  printFields(io, [
    ['Name', compute.name],
    ['Workspace', compute.workspace],
    ['Kind', kind(compute)],
    ['State', state(compute)],
    ['Ready agents', String(compute.readyAgents)],
    [
      'Cluster purpose',
      enumLabel(clusterPurposeToJSON(compute.clusterPurpose), 'CLUSTER_PURPOSE_'),
    ],
    ['Namespace', compute.namespace],
    ['Router URL', compute.routerUrl],
    ['Registry', compute.containerRegistry?.address ?? ''],
    ['Region', compute.region],
    ['API server', compute.apiServer],
    ['Created', timeText(compute.createTime)],
  ]);
}

interface AttachOptions extends ConnectionFlags {
  readonly name: string;
  readonly kind: keyof typeof KINDS;
  readonly clusterPurpose?: keyof typeof PURPOSES;
  readonly namespace?: string;
  readonly routerUrl?: string;
  readonly registry?: string;
  readonly registryUsername?: string;
  readonly region?: string;
  readonly apiServer?: string;
  readonly output: OutputFormat;
}

interface NamedOptions extends ConnectionFlags {
  readonly name: string;
  readonly output: OutputFormat;
}

/** `skiff compute attach|list|show|detach` (az ml computetarget). */
export function registerComputeCommands(program: Command, invocation: Invocation): void {
  const io = invocation.io;
  const compute = program
    .command('compute')
    .description('Compute targets: where services run (a Kubernetes cluster, or this machine)');

  withConnectionOptions(
    compute
      .command('attach')
      .description('Attach a compute target to the workspace (needs an admin credential)')
      .requiredOption('-n, --name <name>', 'compute target name, a DNS label of 2-16 characters')
      .addOption(
        new Option('--kind <kind>', 'where replicas run')
          .choices(Object.keys(KINDS))
          .default('kubernetes'),
      )
      .addOption(
        new Option('--cluster-purpose <purpose>', 'AKS cluster purpose').choices(
          Object.keys(PURPOSES),
        ),
      )
      .option('--namespace <namespace>', 'default Kubernetes namespace of its services')
      .option('--router-url <url>', 'base URL of the router in front of its services')
      .option('--registry <address>', 'registry its agents pull environment images from')
      .option('--registry-username <user>', 'user name for that registry')
      .option('--region <region>', "Azure region, for the doctor's host templates")
      .option('--api-server <host>', 'Kubernetes API server host, for the doctor')
      .addOption(outputOption())
      .addHelpText(
        'after',
        '\nExamples:\n  skiff compute attach -n local --kind local --router-url http://127.0.0.1:8080\n' +
          '  skiff compute attach -n aks1 --kind kubernetes --cluster-purpose FastProd --router-url https://ml.example.com',
      ),
  ).action(
    action(invocation, (options: AttachOptions) =>
      runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
        const { compute: attached } = await client.computes.attach({
          compute: {
            workspace,
            name: options.name,
            kind: KINDS[options.kind],
            ...(options.clusterPurpose === undefined
              ? {}
              : { clusterPurpose: PURPOSES[options.clusterPurpose] }),
            namespace: options.namespace ?? '',
            routerUrl: options.routerUrl ?? '',
            region: options.region ?? '',
            apiServer: options.apiServer ?? '',
            ...(options.registry === undefined
              ? {}
              : {
                  containerRegistry: {
                    address: options.registry,
                    username: options.registryUsername ?? '',
                  },
                }),
          },
        });
        printCompute(io, attached, options.output);
        return ExitCode.ok;
      }),
    ),
  );

  withConnectionOptions(
    compute
      .command('list')
      .description("List the workspace's compute targets")
      .addOption(outputOption())
      .addHelpText('after', '\nExample:\n  skiff compute list -w team-a'),
  ).action(
    action(invocation, (options: ConnectionFlags & { output: OutputFormat }) =>
      runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
        const computes = await allPages(async (pageToken) => {
          const page = await client.computes.list({ workspace, pageToken });
          return { items: page.computes, nextPageToken: page.nextPageToken };
        });
        if (options.output === 'json')
          printJson(
            io,
            computes.map((c) => ComputeTarget.toJSON(c)),
          );
        else
          printTable(
            io,
            ['NAME', 'KIND', 'STATE', 'AGENTS', 'ROUTER URL'],
            computes.map((c) => [c.name, kind(c), state(c), String(c.readyAgents), c.routerUrl]),
            'No compute targets.',
          );
        return ExitCode.ok;
      }),
    ),
  );

  withConnectionOptions(
    compute
      .command('show')
      .description('Show a compute target')
      .requiredOption('-n, --name <name>', 'compute target name')
      .addOption(outputOption())
      .addHelpText('after', '\nExample:\n  skiff compute show -n local'),
  ).action(
    action(invocation, (options: NamedOptions) =>
      runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
        const { compute: found } = await client.computes.get({ workspace, name: options.name });
        printCompute(io, found, options.output);
        return ExitCode.ok;
      }),
    ),
  );

  withConnectionOptions(
    compute
      .command('detach')
      .description('Detach a compute target (refused while services run on it)')
      .requiredOption('-n, --name <name>', 'compute target name')
      .addHelpText('after', '\nExample:\n  skiff compute detach -n local'),
  ).action(
    action(invocation, (options: ConnectionFlags & { name: string }) =>
      runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
        await client.computes.detach({ workspace, name: options.name });
        io.out(`Detached compute target ${options.name} from workspace ${workspace}.\n`);
        return ExitCode.ok;
      }),
    ),
  );
}
