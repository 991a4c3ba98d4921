import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SkiffClient } from '@skiff/client';
import { ComputeKind } from '@skiff/proto';
import type { IsolatedRedis } from '@skiff/testing';
import { createCredentials, runCli, startControlPlane, type CliResult } from './control-plane.js';
import { bin, loopbackAddress, startApp, waitFor, type AppProcess } from './processes.js';

/** SIGKILLs every process whose working directory lies under `dir`. */
function killProcessesUnder(dir: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
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
  const { process: controlPlane, endpoint, admin } = await startControlPlane(redis, dataDir);
  const started: AppProcess[] = [controlPlane];
  const workspace = 'team-a';
  const routerAddress = await loopbackAddress();
  const routerUrl = `http://${routerAddress}`;
  await admin.workspaces.create({ workspace: { name: workspace } });
  await admin.computes.attach({
    compute: { workspace, name: 'local', kind: ComputeKind.COMPUTE_KIND_LOCAL, routerUrl },
  });
  const { deployerToken, agentToken } = await createCredentials(admin, workspace, 'local');

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
    cli: (args, cwd) =>
      runCli({ endpoint, token: deployerToken, workspace, home: dataDir }, args, cwd),
    async stop() {
      admin.close();
      for (const process of started.reverse()) await process.kill();
      // Replicas outlive their agent by design (the next agent adopts them): stop this
      // platform's own, found by their working directory under its data directory.
      killProcessesUnder(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
