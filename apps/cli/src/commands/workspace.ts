import { Workspace } from '@skiff/proto';
import type { Command } from 'commander';
import { runOnline, withConnectionOptions, type ConnectionFlags } from '../connection/session.js';
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

function printWorkspace(io: CliIo, workspace: Workspace | undefined, format: OutputFormat): void {
  if (format === 'json') return printJson(io, workspace ? Workspace.toJSON(workspace) : {});
  printFields(io, [
    ['Name', workspace?.name ?? ''],
    ['Description', workspace?.description ?? ''],
    ['Default namespace', workspace?.defaultNamespace ?? ''],
    ['Registry', workspace?.containerRegistry?.address ?? ''],
    ['Created', timeText(workspace?.createTime)],
  ]);
}

interface CreateOptions extends ConnectionFlags {
  readonly name: string;
  readonly description?: string;
  readonly defaultNamespace?: string;
  readonly registry?: string;
  readonly registryUsername?: string;
  readonly output: OutputFormat;
}

interface ShowOptions extends ConnectionFlags {
  readonly name?: string;
  readonly output: OutputFormat;
}

/** `skiff workspace create|list|show` (az ml workspace). */
export function registerWorkspaceCommands(program: Command, invocation: Invocation): void {
  const io = invocation.io;
  const workspace = program
    .command('workspace')
    .description("Workspaces: one team's models, compute targets, services and credentials");

  withConnectionOptions(
    workspace
      .command('create')
      .description('Create a workspace (needs the platform admin credential)')
      .requiredOption('-n, --name <name>', 'workspace name, a DNS label of 3-32 characters')
      .option('-d, --description <text>', 'description')
      .option(
        '--default-namespace <namespace>',
        'Kubernetes namespace of its services (default: the name)',
      )
      .option('--registry <address>', 'container registry for its environment images, host[:port]')
      .option('--registry-username <user>', 'user name for that registry')
      .addOption(outputOption())
      .addHelpText('after', '\nExample:\n  skiff workspace create -n team-a -d "Team A"'),
  ).action(
    action(invocation, (options: CreateOptions) =>
      runOnline(io, options, { workspace: false }, async ({ client }) => {
        const { workspace: created } = await client.workspaces.create({
          workspace: {
            name: options.name,
            description: options.description ?? '',
            defaultNamespace: options.defaultNamespace ?? '',
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
        printWorkspace(io, created, options.output);
        return ExitCode.ok;
      }),
    ),
  );

  withConnectionOptions(
    workspace
      .command('list')
      .description(
        'List the workspaces your credential can see (all of them for the platform admin)',
      )
      .addOption(outputOption())
      .addHelpText('after', '\nExample:\n  skiff workspace list -o json'),
  ).action(
    action(invocation, (options: ConnectionFlags & { output: OutputFormat }) =>
      runOnline(io, options, { workspace: false }, async ({ client }) => {
        const workspaces = await allPages(async (pageToken) => {
          const page = await client.workspaces.list({ pageToken });
          return { items: page.workspaces, nextPageToken: page.nextPageToken };
        });
        if (options.output === 'json')
          printJson(
            io,
            workspaces.map((w) => Workspace.toJSON(w)),
          );
        else
          printTable(
            io,
            ['NAME', 'NAMESPACE', 'CREATED', 'DESCRIPTION'],
            workspaces.map((w) => [
              w.name,
              w.defaultNamespace,
              timeText(w.createTime),
              w.description,
            ]),
            'No workspaces.',
          );
        return ExitCode.ok;
      }),
    ),
  );

  withConnectionOptions(
    workspace
      .command('show')
      .description('Show a workspace (default: the current one)')
      .option(
        '-n, --name <name>',
        "workspace name (default: --workspace, SKIFF_WORKSPACE or the login's)",
      )
      .addOption(outputOption())
      .addHelpText('after', '\nExample:\n  skiff workspace show -n team-a'),
  ).action(
    action(invocation, (options: ShowOptions) =>
      runOnline(io, options, { workspace: options.name === undefined }, async (session) => {
        const name = options.name ?? session.workspace;
        const { workspace: found } = await session.client.workspaces.get({ name });
        printWorkspace(io, found, options.output);
        return ExitCode.ok;
      }),
    ),
  );
}
