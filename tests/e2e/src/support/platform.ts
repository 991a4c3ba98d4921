import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SkiffClient } from '@skiff/client';
import { ComputeKind, Role } from '@skiff/proto';
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

/** A control plane process, a workspace with a local compute target, and its credentials. */
export interface LocalPlatform {
  readonly endpoint: string;
  readonly workspace: string;
  /** Admin client of the workspace. */
  readonly admin: SkiffClient;
  readonly deployerToken: string;
  readonly agentToken: string;
  readonly dataDir: string;
  /** Base URL of the compute's router (`http://127.0.0.1:<port>`; see {@link startRouter}). */
  readonly routerUrl: string;
  /** Starts a `skiff-router` process for the local compute target at {@link routerUrl}. */
  startRouter(env?: Record<string, string>): Promise<AppProcess>;
  /** Starts a `skiff-agent` process for the local compute target (its own state dir by default). */
  startAgent(env?: Record<string, string>): Promise<AppProcess>;
  /** Runs the `skiff` CLI as the deployer, in `cwd`. */
  cli(args: readonly string[], cwd?: string): Promise<CliResult>;
  /** Stops every process it started and removes its directories. */
  stop(): Promise<void>;
}

/**
 * Starts `skiff-control-plane` on `redis`, creates workspace `team-a` with a `local` compute
 * target, a deployer and an agent credential — the platform a user gets on one machine.
 */
export async function startLocalPlatform(redis: IsolatedRedis): Promise<LocalPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-e2e-'));
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
  const started: AppProcess[] = [controlPlane];
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
  const workspace = 'team-a';
  const routerAddress = await loopbackAddress();
  const routerUrl = `http://${routerAddress}`;
  await admin.workspaces.create({ workspace: { name: workspace } });
  await admin.computes.attach({
    compute: { workspace, name: 'local', kind: ComputeKind.COMPUTE_KIND_LOCAL, routerUrl },
  });
  const credential = async (role: Role, compute = '') =>
    (await admin.workspaces.createCredential({ workspace, role, compute })).token;
  const deployerToken = await credential(Role.ROLE_DEPLOYER);
  const agentToken = await credential(Role.ROLE_AGENT, 'local');

  return {
    endpoint,
    workspace,
    admin,
    deployerToken,
    agentToken,
    dataDir,
    routerUrl,
    async startRouter(env = {}) {
      const router = startApp(bin('router', 'skiff-router'), {
        SKIFF_ENDPOINT: endpoint,
        SKIFF_TOKEN: agentToken,
        SKIFF_WORKSPACE: workspace,
        SKIFF_COMPUTE: 'local',
        SKIFF_ROUTER_LISTEN: routerAddress,
        SKIFF_LOG_LEVEL: 'warn',
        ...env,
      });
      started.push(router);
      await waitFor(
        'the router to have a routing table',
        async () => ((await fetch(`${routerUrl}/readyz`)).ok ? true : undefined),
        30_000,
        router.output,
      );
      return router;
    },
    async startAgent(env = {}) {
      const agent = startApp(bin('agent', 'skiff-agent'), {
        SKIFF_ENDPOINT: endpoint,
        SKIFF_TOKEN: agentToken,
        SKIFF_WORKSPACE: workspace,
        SKIFF_COMPUTE: 'local',
        SKIFF_NODE_NAME: 'node-1',
        REDIS_URL: redis.url,
        SKIFF_STATE_DIR: join(dataDir, 'agent'),
        SKIFF_HTTP_LISTEN: await loopbackAddress(),
        SKIFF_JOB_LOCK_MS: '2000',
        SKIFF_LOG_LEVEL: 'info',
        ...env,
      });
      started.push(agent);
      return agent;
    },
    async cli(args, cwd) {
      const run = startApp(
        bin('cli', 'skiff'),
        {
          SKIFF_ENDPOINT: endpoint,
          SKIFF_TOKEN: deployerToken,
          SKIFF_WORKSPACE: workspace,
          HOME: dataDir,
        },
        args,
        cwd,
      );
      return { code: await run.exited, out: run.output() };
    },
    async stop() {
      admin.close();
      for (const process of started.reverse()) await process.kill();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
