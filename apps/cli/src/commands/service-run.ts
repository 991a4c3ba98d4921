import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AuthMode, WebserviceState, webserviceStateToJSON, type Webservice } from '@skiff/proto';
import type { Command } from 'commander';
import {
  runOnline,
  UsageError,
  withConnectionOptions,
  type ConnectionFlags,
  type Session,
} from '../connection/session.js';
import { ExitCode, type CliIo } from '../io.js';
import { enumLabel } from '../output.js';
import { action, type Invocation } from '../program.js';

interface RunOptions extends ConnectionFlags {
  readonly name: string;
  readonly inputData?: string;
  readonly inputFile?: string;
}

/** The request body: `-d` as given, or the file's bytes (v1 sent either unchanged). */
async function requestBody(io: CliIo, options: RunOptions): Promise<Buffer> {
  if ((options.inputData === undefined) === (options.inputFile === undefined)) {
    throw new UsageError('service run: give the input as -d <json> or --input-file <file>');
  }
  if (options.inputData !== undefined) return Buffer.from(options.inputData);
  const path = resolve(io.cwd, options.inputFile ?? '');
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(
      `--input-file: cannot read ${options.inputFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

/**
 * The Authorization header the service wants, fetched with the caller's credential: a key for
 * key auth, a fresh token for token auth, none for an open service. A caller whose role may
 * not read keys or tokens gets the control plane's PERMISSION_DENIED, as v1 did.
 */
async function authorization(session: Session, service: Webservice): Promise<string | undefined> {
  const { client, workspace } = session;
  const request = { workspace, name: service.name };
  if (service.authMode === AuthMode.AUTH_MODE_KEY) {
    return `Bearer ${(await client.webservices.getKeys(request)).primaryKey}`;
  }
  if (service.authMode === AuthMode.AUTH_MODE_TOKEN) {
    return `Bearer ${(await client.webservices.getToken(request)).accessToken}`;
  }
  return undefined;
}

async function run(session: Session, options: RunOptions): Promise<number> {
  const { client, io, workspace } = session;
  const body = await requestBody(io, options);
  const { webservice } = await client.webservices.get({ workspace, name: options.name });
  if (!webservice?.scoringUri) {
    const state = enumLabel(
      webserviceStateToJSON(webservice?.state ?? WebserviceState.WEBSERVICE_STATE_UNSPECIFIED),
      'WEBSERVICE_STATE_',
    );
    io.err(`skiff: service ${options.name} has no scoring URI yet (state ${state})\n`);
    return ExitCode.failed;
  }
  const auth = await authorization(session, webservice);
  let response: Response;
  try {
    response = await fetch(webservice.scoringUri, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body,
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    io.err(
      `skiff: cannot reach ${webservice.scoringUri}: ${cause?.code ?? cause?.message ?? String(error)}\n`,
    );
    return ExitCode.failed;
  }
  const text = await response.text();
  if (!response.ok) {
    io.err(
      `skiff: ${options.name} answered ${response.status} ${response.statusText}${text ? `: ${text}` : ''}${text.endsWith('\n') ? '' : '\n'}`,
    );
    return ExitCode.failed;
  }
  io.out(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  return ExitCode.ok;
}

/** `skiff service run` (az ml service run): one scoring request through the scoring URI. */
export function registerServiceRunCommand(service: Command, invocation: Invocation): void {
  const io = invocation.io;
  withConnectionOptions(
    service
      .command('run')
      .description(
        "Score once through the service's scoring URI, with its primary key or a fresh token " +
          '(fetched with your credential: a deployer role), and print the answer. Exit 1 with ' +
          'the HTTP status and body when the service does not answer 2xx.',
      )
      .requiredOption('-n, --name <service>', 'service name')
      .option('-d, --input-data <json>', 'the request body, e.g. a JSON document')
      .option('--input-file <file>', 'read the request body from this file')
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  skiff service run -n iris-svc -d \'{"data": [[5.1, 3.5, 1.4, 0.2]]}\'\n' +
          '  skiff service run -n iris-svc --input-file request.json',
      ),
  ).action(
    action(invocation, (options: RunOptions) =>
      runOnline(io, options, { workspace: true }, (session) => run(session, options)),
    ),
  );
}
