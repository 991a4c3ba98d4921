// The control plane every e2e platform starts, and what each then does with it: credentials
// for a workspace, and the `skiff` CLI run as the workspace's deployer.
import { join } from 'node:path';
import { SkiffClient } from '@skiff/client';
import { Role } from '@skiff/proto';
import type { IsolatedRedis } from '@skiff/testing';
import {
  adminToken,
  bin,
  loopbackAddress,
  startApp,
  waitFor,
  type AppProcess,
} from './processes.js';

/** What a CLI run printed and returned. */
export interface CliResult {
  code: number | NodeJS.Signals;
  out: string;
}

/** A running `skiff-control-plane` and a platform admin client of it (close it when done). */
export interface ControlPlane {
  readonly process: AppProcess;
  /** Its gRPC address, `127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly admin: SkiffClient;
}

/**
 * Starts `skiff-control-plane` on `redis` with its data in `<dataDir>/control-plane`, and
 * waits until it answers an admin. Stops the process when it never answers.
 */
export async function startControlPlane(
  redis: IsolatedRedis,
  dataDir: string,
): Promise<ControlPlane> {
  const endpoint = await loopbackAddress();
  const token = adminToken();
  const controlPlane = startApp(bin('control-plane', 'skiff-control-plane'), {
    REDIS_URL: redis.url,
    SKIFF_REDIS_PREFIX: redis.prefix,
    SKIFF_DATA_DIR: join(dataDir, 'control-plane'),
    SKIFF_GRPC_LISTEN: endpoint,
    SKIFF_HTTP_LISTEN: await loopbackAddress(),
    SKIFF_ADMIN_TOKEN: token,
    SKIFF_SHUTDOWN_GRACE_SECONDS: '1',
    SKIFF_RECONCILE_SECONDS: '1',
    SKIFF_LOG_LEVEL: 'warn',
  });
  try {
    const admin = await waitFor(
      'the control plane to answer',
      async () => {
        const client = await SkiffClient.connect({ endpoint, token, connectTimeoutMs: 1_000 });
        try {
          await client.workspaces.list({});
          return client;
        } catch (error) {
          client.close();
          throw error;
        }
      },
      60_000,
      controlPlane.output,
    );
    return { process: controlPlane, endpoint, admin };
  } catch (error) {
    await controlPlane.kill();
    throw error;
  }
}

/** A deployer credential of `workspace` and an agent credential of its `compute` target. */
export async function createCredentials(
  admin: SkiffClient,
  workspace: string,
  compute: string,
): Promise<{ deployerToken: string; agentToken: string }> {
  const credential = async (role: Role, forCompute = '') =>
    (await admin.workspaces.createCredential({ workspace, role, compute: forCompute })).token;
  return {
    deployerToken: await credential(Role.ROLE_DEPLOYER),
    agentToken: await credential(Role.ROLE_AGENT, compute),
  };
}

/** Where and as whom {@link runCli} runs `skiff`. */
export interface CliTarget {
  readonly endpoint: string;
  readonly token: string;
  readonly workspace: string;
  /** HOME of the run (so no login of the machine's user applies). */
  readonly home: string;
}

/** Runs the `skiff` CLI with `args` in `cwd` against `target`; resolves once it exited. */
export async function runCli(
  target: CliTarget,
  args: readonly string[],
  cwd?: string,
): Promise<CliResult> {
  const run = startApp(
    bin('cli', 'skiff'),
    {
      SKIFF_ENDPOINT: target.endpoint,
      SKIFF_TOKEN: target.token,
      SKIFF_WORKSPACE: target.workspace,
      HOME: target.home,
    },
    args,
    cwd,
  );
  return { code: await run.exited, out: run.output() };
}
