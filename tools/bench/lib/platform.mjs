// What the agent and autoscale benchmarks share: the run (its temporary directory, every
// process it started, their cleanup on exit and Ctrl-C, replicas included), `node <bin>`
// processes, polling, and the platform's first steps — a control plane on the run's own Redis
// with the run's workspace, its `local` compute target and credentials, a local agent, and the
// `skiff` CLI as the workspace's deployer. Every part listens on 127.0.0.1.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SkiffClient } from '@skiff/client';
import { ComputeKind, Role } from '@skiff/proto';
import { freePort } from '@skiff/testing';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** The bin of an app, e.g. `BIN('agent', 'skiff-agent')`. */
export const BIN = (app, name) => join(REPO, `apps/${app}/bin/${name}.js`);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `node <bin>`; keeps the last 64 KiB of its output for error messages. */
export function startNode(bin, env, args = [], cwd = REPO) {
  let output = '';
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk) => (output = (output + chunk.toString()).slice(-65_536));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  return {
    child,
    exited,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
        await exited;
      }
    },
  };
}

/** Polls `check` every `everyMs` until it returns a value, or fails saying `what`. */
export async function waitFor(what, check, { timeoutMs = 120_000, everyMs = 100, context } = {}) {
  const until = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) {
      throw new Error(
        `timed out waiting for ${what}${last ? ` (last error: ${last.message})` : ''}` +
          (context ? `\n${context()}` : ''),
      );
    }
    await sleep(everyMs);
  }
}

/**
 * Pids of every process carrying `workspace` in SKIFF_SERVICE_ID (replicas, workers): of
 * `service` alone when given, else of any service.
 */
export function processesOf(workspace, service = '') {
  const wanted = `SKIFF_SERVICE_ID=${workspace}/${service}`;
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (environ.some((v) => (service ? v === wanted : v.startsWith(wanted)))) {
        found.push(Number(entry));
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function killAll(pids) {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/**
 * A run of workspace `workspace`: its temporary directory `dir` and `started`, everything it
 * started (each with `stop()`), stopped in reverse order by `cleanup()` — after the replicas,
 * which outlive their agent by design and so are found by the workspace name. `cleanup()` is
 * safe to call twice; it runs on SIGINT/SIGTERM too, and a last resort on exit SIGKILLs
 * whatever is left.
 */
export async function createRun(name, workspace) {
  const dir = await mkdtemp(join(tmpdir(), `skiff-bench-${name}-`));
  const started = [];
  let cleaning;
  const cleanup = () => {
    cleaning ??= (async () => {
      killAll(processesOf(workspace));
      for (const process of started.reverse()) await process.stop().catch(() => undefined);
      for (let i = 0; i < 50 && processesOf(workspace).length > 0; i++) await sleep(100);
      await rm(dir, { recursive: true, force: true });
    })();
    return cleaning;
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping every process of the run and removing ${dir}`);
      cleanup().finally(() => process.exit(130));
    });
  }
  // Last resort if the event loop is gone (process.exit elsewhere): no process is left behind.
  process.once('exit', () => {
    killAll(processesOf(workspace));
    for (const process of started) process.child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, started, cleanup };
}

/**
 * Starts `skiff-control-plane` on `redisUrl` (keys under `prefix`, data in the run's
 * directory), waits until it answers an admin, creates the run's workspace with a `local`
 * compute target (its router at `routerUrl`, when given) and a deployer and an agent credential.
 */
export async function startControlPlane(run, workspace, { redisUrl, prefix, routerUrl }) {
  const endpoint = `127.0.0.1:${await freePort()}`;
  const token = `skf_${randomBytes(12).toString('hex')}_${randomBytes(32).toString('base64url')}`;
  const controlPlane = startNode(BIN('control-plane', 'skiff-control-plane'), {
    REDIS_URL: redisUrl,
    SKIFF_REDIS_PREFIX: prefix,
    SKIFF_DATA_DIR: join(run.dir, 'control-plane'),
    SKIFF_GRPC_LISTEN: endpoint,
    SKIFF_HTTP_LISTEN: `127.0.0.1:${await freePort()}`,
    SKIFF_ADMIN_TOKEN: token,
    SKIFF_SHUTDOWN_GRACE_SECONDS: '1',
    SKIFF_LOG_LEVEL: 'warn',
  });
  run.started.push(controlPlane);
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
    { context: controlPlane.output },
  );
  run.started.push({ stop: async () => admin.close() });
  await admin.workspaces.create({ workspace: { name: workspace } });
  await admin.computes.attach({
    compute: {
      workspace,
      name: 'local',
      kind: ComputeKind.COMPUTE_KIND_LOCAL,
      ...(routerUrl ? { routerUrl } : {}),
    },
  });
  const credential = async (role, compute = '') =>
    (await admin.workspaces.createCredential({ workspace, role, compute })).token;
  const deployerToken = await credential(Role.ROLE_DEPLOYER);
  const agentToken = await credential(Role.ROLE_AGENT, 'local');
  return { controlPlane, endpoint, admin, deployerToken, agentToken };
}

/** Starts `skiff-agent` for the workspace's `local` compute target as node `node`. */
export async function startAgent(run, workspace, { endpoint, agentToken, redisUrl, node }) {
  const agent = startNode(BIN('agent', 'skiff-agent'), {
    SKIFF_ENDPOINT: endpoint,
    SKIFF_TOKEN: agentToken,
    SKIFF_WORKSPACE: workspace,
    SKIFF_COMPUTE: 'local',
    SKIFF_NODE_NAME: node,
    REDIS_URL: redisUrl,
    SKIFF_STATE_DIR: join(run.dir, 'agent'),
    SKIFF_HTTP_LISTEN: `127.0.0.1:${await freePort()}`,
    SKIFF_LOG_LEVEL: 'warn',
  });
  run.started.push(agent);
  return agent;
}

/**
 * `cli(args, cwd)` runs `skiff` as the workspace's deployer (HOME the run's directory) and
 * resolves with its output; a non-zero exit throws with that output and `context()`.
 */
export function cliOf(run, workspace, { endpoint, deployerToken, context = () => '' }) {
  return async (args, cwd) => {
    const cli = startNode(
      BIN('cli', 'skiff'),
      {
        SKIFF_ENDPOINT: endpoint,
        SKIFF_TOKEN: deployerToken,
        SKIFF_WORKSPACE: workspace,
        HOME: run.dir,
      },
      args,
      cwd,
    );
    run.started.push(cli);
    const code = await cli.exited;
    run.started.splice(run.started.indexOf(cli), 1);
    if (code !== 0) {
      throw new Error(`skiff ${args.join(' ')} exited ${code}:\n${cli.output()}\n${context()}`);
    }
    return cli.output();
  };
}
