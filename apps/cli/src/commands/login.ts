import { SkiffApiError, SkiffClient } from '@skiff/client';
import type { Command } from 'commander';
import { writeLoginConfig } from '../connection/config-file.js';
import { parseEndpoint } from '../connection/endpoint.js';
import { reportFailure, UsageError } from '../connection/session.js';
import { ExitCode, type CliIo } from '../io.js';
import { action, type Invocation } from '../program.js';

interface LoginOptions {
  readonly endpoint: string;
  readonly token?: string;
  readonly workspace?: string;
}

async function login(io: CliIo, options: LoginOptions): Promise<number> {
  let client: SkiffClient | undefined;
  try {
    const token = options.token ?? (io.env['SKIFF_TOKEN'] || undefined);
    if (token === undefined)
      throw new UsageError('login: give --token <token> (or set SKIFF_TOKEN)');
    const endpoint = parseEndpoint(options.endpoint);
    if (typeof endpoint === 'string') throw new UsageError(`--endpoint: ${endpoint}`);
    // Check the credential (and the workspace) before saving it, so a typo fails here.
    client = await SkiffClient.connect({ endpoint: endpoint.address, tls: endpoint.tls, token });
    let workspace = options.workspace;
    if (workspace !== undefined) {
      // Every role of a workspace may list its services: proves credential and workspace.
      await client.webservices.list({ workspace, pageSize: 1 });
    } else {
      // Admins may list workspaces; for other roles PERMISSION_DENIED still proves the
      // credential valid (an unknown one is UNAUTHENTICATED first).
      const visible = await client.workspaces.list({}).then(
        (page) => page.workspaces.map((w) => w.name),
        (error: unknown) => {
          if (error instanceof SkiffApiError && error.code === 'PERMISSION_DENIED') return [];
          throw error;
        },
      );
      // A workspace admin's credential sees its one workspace: make it the default.
      if (visible.length === 1) workspace = visible[0];
    }
    const path = await writeLoginConfig(io, {
      endpoint: options.endpoint,
      token,
      ...(workspace === undefined ? {} : { workspace }),
    });
    io.out(
      `Logged in to ${options.endpoint}${workspace === undefined ? '' : `, workspace ${workspace}`}.\n`,
    );
    io.err(`Credential saved in ${path} (readable by you only).\n`);
    return ExitCode.ok;
  } catch (error) {
    return reportFailure(io, error);
  } finally {
    client?.close();
  }
}

/** `skiff login`: checks a credential against a control plane and saves it. */
export function registerLoginCommand(program: Command, invocation: Invocation): void {
  program
    .command('login')
    .description(
      'Check a credential against a control plane and save endpoint, credential and default ' +
        'workspace for the online commands (in $SKIFF_CONFIG_DIR/config.json, else ' +
        '~/.config/skiff/config.json, mode 0600). The credential is never printed.',
    )
    .requiredOption('--endpoint <address>', 'control plane, host:port or https://host[:port]')
    .option('--token <token>', 'API credential skf_<id>_<secret> (default: $SKIFF_TOKEN)')
    .option(
      '-w, --workspace <name>',
      "default workspace of later commands (default: the credential's, when it has one)",
    )
    .addHelpText(
      'after',
      `\nExamples:\n  skiff login --endpoint 127.0.0.1:50051 --token "$TOKEN" -w team-a\n` +
        `  skiff login --endpoint https://skiff.example.com --token "$TOKEN"`,
    )
    .action(action(invocation, (options: LoginOptions) => login(invocation.io, options)));
}
