import { SkiffClient } from '@skiff/client';
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
    if (options.workspace === undefined) await client.workspaces.list({ pageSize: 1 });
    else await client.workspaces.get({ name: options.workspace });
    const path = await writeLoginConfig(io, {
      endpoint: options.endpoint,
      token,
      ...(options.workspace === undefined ? {} : { workspace: options.workspace }),
    });
    io.out(
      `Logged in to ${options.endpoint}${options.workspace === undefined ? '' : `, workspace ${options.workspace}`}.\n`,
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
    .option('-w, --workspace <name>', 'default workspace of later commands')
    .addHelpText(
      'after',
      `\nExamples:\n  skiff login --endpoint 127.0.0.1:50051 --token "$TOKEN" -w team-a\n` +
        `  skiff login --endpoint https://skiff.example.com --token "$TOKEN"`,
    )
    .action(action(invocation, (options: LoginOptions) => login(invocation.io, options)));
}
