// What `skiff up` sets up in a fresh control plane, and finds again on a restart: a workspace,
// a LOCAL compute target whose router URL is the local router, credentials for the agent, the
// router and the CLI (kept in the data directory), and the CLI's login.
import { setTimeout as sleep } from 'node:timers/promises';
import { SkiffApiError, SkiffClient } from '@skiff/client';
import { ComputeKind, Role } from '@skiff/proto';
import { writeLoginConfig } from '../connection/config-file.js';
import type { CliIo } from '../io.js';
import {
  readJsonFile,
  upCredentials,
  writePrivateJson,
  type DataDir,
  type UpCredentials,
} from './data-dir.js';

/** Thrown when what exists contradicts this start (e.g. the compute's router URL). */
export class BootstrapError extends Error {
  override readonly name = 'BootstrapError';
}

/**
 * Connects as the platform admin once the control plane answers; rejects when `abort` fires
 * or `failed()` says the control plane died.
 */
export async function connectAdmin(
  endpoint: string,
  token: string,
  timeoutMs: number,
  stillStarting: () => void,
): Promise<SkiffClient> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    stillStarting();
    try {
      const client = await SkiffClient.connect({ endpoint, token, connectTimeoutMs: 1_000 });
      try {
        await client.workspaces.list({ pageSize: 1 });
        return client;
      } catch (error) {
        client.close();
        throw error;
      }
    } catch (error) {
      last = error;
      // A wrong admin credential will not get better by waiting.
      if (error instanceof SkiffApiError && error.code === 'UNAUTHENTICATED') throw error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the control plane did not answer at ${endpoint} within ${timeoutMs / 1000} s: ${String(last)}`,
      );
    }
    await sleep(200);
  }
}

const alreadyExists = (error: unknown) =>
  error instanceof SkiffApiError && error.code === 'ALREADY_EXISTS';
const notFound = (error: unknown) => error instanceof SkiffApiError && error.code === 'NOT_FOUND';

/** The credential id inside `skf_<id>_<secret>`. */
function credentialId(token: string): string {
  return /^skf_([0-9a-f]{24})_/.exec(token)?.[1] ?? '';
}

/** Creates the workspace and the LOCAL compute target unless they exist. */
export async function ensureWorkspaceAndCompute(
  admin: SkiffClient,
  workspace: string,
  compute: string,
  routerUrl: string,
): Promise<void> {
  await admin.workspaces
    .create({ workspace: { name: workspace, description: 'created by skiff up' } })
    .catch((error: unknown) => {
      if (!alreadyExists(error)) throw error;
    });
  const existing = await admin.computes.get({ workspace, name: compute }).then(
    (response) => response.compute,
    (error: unknown) => {
      if (notFound(error)) return undefined;
      throw error;
    },
  );
  if (existing && existing.routerUrl === routerUrl) {
    if (existing.kind !== ComputeKind.COMPUTE_KIND_LOCAL) {
      throw new BootstrapError(
        `compute target '${compute}' of workspace '${workspace}' exists and is not a local one; use another --workspace`,
      );
    }
    return;
  }
  if (existing) {
    // No update call exists for compute targets: re-attach, which the control plane refuses
    // while services run on it.
    try {
      await admin.computes.detach({ workspace, name: compute });
    } catch (error) {
      if (error instanceof SkiffApiError && error.code === 'FAILED_PRECONDITION') {
        const port = /:(\d+)$/.exec(existing.routerUrl)?.[1] ?? '';
        throw new BootstrapError(
          `compute target '${compute}' has router URL ${existing.routerUrl} and services run on it; ` +
            `start with --port ${port} (or delete its services first)`,
        );
      }
      throw error;
    }
  }
  await admin.computes.attach({
    compute: { workspace, name: compute, kind: ComputeKind.COMPUTE_KIND_LOCAL, routerUrl },
  });
}

/**
 * The agent's, the router's and the CLI's credentials: those saved in the data directory when
 * the control plane still knows them (not revoked), new ones otherwise (then saved, 0600).
 */
export async function ensureCredentials(
  admin: SkiffClient,
  dataDir: DataDir,
  workspace: string,
  compute: string,
): Promise<UpCredentials> {
  const saved = await readJsonFile(dataDir.credentialsFile, upCredentials);
  const live = new Set<string>();
  let pageToken = '';
  do {
    const page = await admin.workspaces.listCredentials({ workspace, pageToken });
    for (const credential of page.credentials) {
      if (!credential.revokeTime) live.add(credential.id);
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  const valid = (token: string | undefined) =>
    token !== undefined && live.has(credentialId(token)) ? token : undefined;
  const create = async (role: Role, description: string, bound: string) =>
    (await admin.workspaces.createCredential({ workspace, role, description, compute: bound }))
      .token;
  const credentials: UpCredentials = {
    agent:
      valid(saved?.agent) ?? (await create(Role.ROLE_AGENT, 'skiff up: the local agent', compute)),
    router:
      valid(saved?.router) ??
      (await create(Role.ROLE_AGENT, 'skiff up: the local router', compute)),
    cli: valid(saved?.cli) ?? (await create(Role.ROLE_ADMIN, 'skiff up: the CLI login', '')),
  };
  if (JSON.stringify(credentials) !== JSON.stringify(saved)) {
    await writePrivateJson(dataDir.credentialsFile, credentials);
  }
  return credentials;
}

/** Saves the CLI's login (endpoint, workspace admin credential, workspace); returns its path. */
export function writeLogin(
  io: CliIo,
  endpoint: string,
  token: string,
  workspace: string,
): Promise<string> {
  return writeLoginConfig(io, { endpoint, token, workspace });
}
