import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SkiffClient } from '@skiff/client';
import { Role } from '@skiff/proto';
import { freePort, isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import type { CliIo } from '../io.js';
import { main } from '../main.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const controlPlaneBin = join(repoRoot, 'apps/control-plane/bin/skiff-control-plane.js');
/** The CLI's own bin, for tests that need a separate process (signals). */
export const skiffBin = join(repoRoot, 'apps/cli/bin/skiff.js');

/** A control plane running as its own process, as users run it. */
export interface ControlPlaneProcess {
  /** `127.0.0.1:<port>` of its gRPC API. */
  readonly endpoint: string;
  /** The platform admin credential it was started with. */
  readonly adminToken: string;
  /** Its Redis slice; BullMQ keys live under `<prefix without ':'>:bull`. */
  readonly redis: IsolatedRedis;
  /** Everything it wrote to stderr so far (for failure messages). */
  log(): string;
  /** Creates a workspace and a credential of `role` in it, through the API. */
  team(workspace: string, role?: Role): Promise<string>;
  /** SIGTERM, wait for the exit, delete its keys and data directory. */
  stop(): Promise<void>;
}

/** A fresh admin credential in the control plane's format, `skf_<24 hex>_<43 base64url>`. */
function adminToken(): string {
  return `skf_${randomBytes(12).toString('hex')}_${randomBytes(32).toString('base64url')}`;
}

/**
 * Starts `skiff-control-plane` on free loopback ports with its own Redis prefix and data
 * directory, and resolves once its gRPC API answers. Fails with its output when it exits.
 */
export async function startControlPlaneProcess(): Promise<ControlPlaneProcess> {
  const redis = isolatedRedis();
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-cli-cp-'));
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const endpoint = `127.0.0.1:${grpcPort}`;
  const token = adminToken();
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [controlPlaneBin], {
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      SKIFF_REDIS_PREFIX: redis.prefix,
      SKIFF_DATA_DIR: dataDir,
      SKIFF_GRPC_LISTEN: endpoint,
      SKIFF_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      SKIFF_ADMIN_TOKEN: token,
      SKIFF_SHUTDOWN_GRACE_SECONDS: '1',
      SKIFF_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await redis.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  };

  const admin = await waitForApi(endpoint, token, exited, () => output).catch(async (error) => {
    await cleanup();
    throw error;
  });

  return {
    endpoint,
    adminToken: token,
    redis,
    log: () => output,
    async team(workspace, role = Role.ROLE_ADMIN) {
      await admin.workspaces.create({ workspace: { name: workspace } }).catch((error: unknown) => {
        if ((error as { code?: string }).code !== 'ALREADY_EXISTS') throw error;
      });
      const created = await admin.workspaces.createCredential({ workspace, role });
      return created.token;
    },
    async stop() {
      admin.close();
      await cleanup();
    },
  };
}

async function waitForApi(
  endpoint: string,
  token: string,
  exited: Promise<number | null>,
  output: () => string,
): Promise<SkiffClient> {
  let gone = false;
  void exited.then(() => (gone = true));
  // Starting from TypeScript sources takes a few seconds; poll until it answers or exits.
  for (let attempt = 0; attempt < 300; attempt++) {
    if (gone) throw new Error(`the control plane exited while starting:\n${output()}`);
    try {
      const client = await SkiffClient.connect({ endpoint, token, connectTimeoutMs: 1_000 });
      try {
        await client.workspaces.list({});
        return client;
      } catch (error) {
        client.close();
        throw error;
      }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`the control plane did not answer on ${endpoint}:\n${output()}`);
}

/** What one in-process `skiff` run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `skiff <argv>` in-process with only `env` as its environment. */
export async function runSkiff(
  argv: readonly string[],
  env: Record<string, string>,
  cwd = process.cwd(),
): Promise<CliRun> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    cwd,
    env,
  };
  const code = await main(argv, io);
  return { code, out, err };
}
