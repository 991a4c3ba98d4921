import { SkiffApiError, SkiffClient } from '@skiff/client';
import { ConfigError } from '@skiff/config';
import { SnapshotError } from '@skiff/hashing';
import type { Command } from 'commander';
import { reportIssues } from '../commands/config.js';
import { ExitCode, type CliIo } from '../io.js';
import { readLoginConfig } from './config-file.js';
import { DEFAULT_ENDPOINT, parseEndpoint } from './endpoint.js';

/** The connection flags every online command takes. */
export interface ConnectionFlags {
  readonly endpoint?: string;
  readonly workspace?: string;
}

/** Adds `--endpoint` and `-w/--workspace` to an online command. */
export function withConnectionOptions(command: Command): Command {
  return command
    .option(
      '--endpoint <address>',
      `control plane, host:port or https://host[:port] (env SKIFF_ENDPOINT; default: the login's, else ${DEFAULT_ENDPOINT})`,
    )
    .option(
      '-w, --workspace <name>',
      "workspace to act in (env SKIFF_WORKSPACE; default: the login's)",
    );
}

/** A connected client plus what the command acts on. */
export interface Session {
  readonly client: SkiffClient;
  readonly io: CliIo;
  /** The workspace the command acts in ('' for commands that need none). */
  readonly workspace: string;
  /** `--endpoint …` and `-w …` as the user would type them again, for hints. */
  readonly resumeFlags: string;
}

/** A problem with how the command was called: reported on stderr, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Resolves endpoint, credential and workspace, connects, runs `run`, and turns failures into
 * one line on stderr: `skiff: <code>: <details>` for what the control plane (or the network)
 * said, exit 1; usage problems exit 2. The credential comes from SKIFF_TOKEN or the login, and
 * the login's credential is sent only to the login's endpoint.
 */
export async function runOnline(
  io: CliIo,
  flags: ConnectionFlags,
  needs: { workspace: boolean },
  run: (session: Session) => Promise<number>,
): Promise<number> {
  let client: SkiffClient | undefined;
  try {
    const login = await readLoginConfig(io);
    const endpointText =
      flags.endpoint ??
      (io.env['SKIFF_ENDPOINT'] || undefined) ??
      login?.endpoint ??
      DEFAULT_ENDPOINT;
    const endpoint = parseEndpoint(endpointText);
    if (typeof endpoint === 'string') throw new UsageError(`--endpoint: ${endpoint}`);
    const loginEndpoint = login ? parseEndpoint(login.endpoint) : undefined;
    const loginApplies =
      typeof loginEndpoint === 'object' &&
      loginEndpoint.address === endpoint.address &&
      loginEndpoint.tls === endpoint.tls;
    const token = (io.env['SKIFF_TOKEN'] || undefined) ?? (loginApplies ? login?.token : undefined);
    if (token === undefined) {
      io.err(
        `skiff: UNAUTHENTICATED: no credential for ${endpointText}: run skiff login --endpoint ${endpointText} --token <token>, or set SKIFF_TOKEN\n`,
      );
      return ExitCode.failed;
    }
    const workspace =
      flags.workspace ??
      (io.env['SKIFF_WORKSPACE'] || undefined) ??
      (loginApplies ? login?.workspace : undefined);
    if (needs.workspace && workspace === undefined) {
      throw new UsageError(
        'no workspace: pass -w <workspace>, set SKIFF_WORKSPACE, or run skiff login --workspace <workspace>',
      );
    }
    client = await SkiffClient.connect({ endpoint: endpoint.address, tls: endpoint.tls, token });
    const resumeFlags = [
      flags.endpoint === undefined ? '' : `--endpoint ${flags.endpoint}`,
      flags.workspace === undefined ? '' : `-w ${flags.workspace}`,
    ]
      .filter(Boolean)
      .join(' ');
    return await run({ client, io, workspace: workspace ?? '', resumeFlags });
  } catch (error) {
    return reportFailure(io, error);
  } finally {
    client?.close();
  }
}

/** Reports the errors an online command expects; anything else goes on to `main`. */
export function reportFailure(io: CliIo, error: unknown): number {
  if (error instanceof UsageError) {
    io.err(`skiff: ${error.message}\n`);
    return ExitCode.usage;
  }
  if (error instanceof SkiffApiError) {
    io.err(`skiff: ${error.code}: ${oneLine(error.details)}\n`);
    return ExitCode.failed;
  }
  if (error instanceof ConfigError) return reportIssues(io, error.issues);
  if (error instanceof SnapshotError) {
    io.err(`skiff: ${oneLine(error.message)}\n`);
    return ExitCode.failed;
  }
  throw error;
}

// The server lists several problems on separate lines; the CLI's contract is one line.
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ');
}
