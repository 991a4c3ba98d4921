// What the router and payload benchmarks start: the tiny upstream, nginx, and skiff-router fed
// by a RoutingService stand-in (apps/router/src/test-support), each its own process pinned to
// a CPU with taskset; plus the run's temporary directory and its cleanup (on Ctrl-C too), and
// /proc readings (CPU time, RSS) of those processes.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthMode } from '@skiff/proto';
import { freePort } from '@skiff/testing';
import {
  replica,
  route,
  startFakeControlPlane,
  table,
} from '../../../apps/router/src/test-support/control-plane.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const UPSTREAM = fileURLToPath(new URL('./upstream.mjs', import.meta.url));
const ROUTER_BIN = join(REPO, 'apps/router/bin/skiff-router.js');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Exits with a message saying how to get them when `tools` are not on PATH. */
export function requireTools(tools) {
  const path = (process.env.PATH ?? '').split(delimiter);
  const missing = tools.filter((tool) => !path.some((dir) => existsSync(join(dir, tool))));
  if (missing.length === 0) return;
  console.error(
    `missing: ${missing.join(', ')}. On Debian/Ubuntu: apt-get install -y wrk nginx-light ` +
      `(taskset is in util-linux). The benchmark needs them to run its peers.`,
  );
  process.exit(1);
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux unless told otherwise). */
const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU seconds (user + system) `pid` has used so far; NaN once it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / HZ;
  } catch {
    return Number.NaN;
  }
}

/** VmRSS and VmHWM of `pid` in bytes. */
export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Children of `pid` (e.g. nginx's workers). */
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * A run: its temporary directory and every process it started. `cleanup()` stops them in
 * reverse order and removes the directory; it runs on SIGINT/SIGTERM too, and a last resort
 * on exit SIGKILLs whatever is left.
 */
export async function createRun(name) {
  const dir = await mkdtemp(join(tmpdir(), `skiff-bench-${name}-`));
  const processes = [];
  const stoppers = [];
  let cleaning;
  const run = {
    dir,
    /** Spawns `command args` pinned to `cpu` (taskset), tracked for cleanup. */
    spawn(cpu, command, args, { env = {}, logFile, stdout = 'pipe' } = {}) {
      const fd = logFile ? openSync(join(dir, logFile), 'a') : undefined;
      const child = spawn('taskset', ['-c', String(cpu), command, ...args], {
        env: { ...process.env, ...env },
        cwd: REPO,
        stdio: ['ignore', fd ?? stdout, fd ?? 'pipe'],
      });
      if (fd !== undefined) closeSync(fd);
      let output = '';
      const keep = (chunk) => (output = (output + chunk.toString()).slice(-16_384));
      child.stderr?.on('data', keep);
      const exited = new Promise((resolve) =>
        child.once('exit', (code, signal) => resolve(code ?? signal)),
      );
      const handle = {
        child,
        pid: child.pid,
        exited,
        /** Other pids to kill with it (nginx workers). */
        extraPids: [],
        output: () =>
          output + (logFile ? readFileSync(join(dir, logFile), 'utf8').slice(-16_384) : ''),
        async stop(signal = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill(signal);
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            await exited;
            clearTimeout(timer);
          }
          for (const pid of handle.extraPids) killQuietly(pid);
          processes.splice(processes.indexOf(handle), 1);
        },
      };
      processes.push(handle);
      return handle;
    },
    /** Something else to undo on cleanup (in-process servers). */
    onCleanup(stop) {
      stoppers.push(stop);
    },
    cleanup() {
      cleaning ??= (async () => {
        for (const handle of [...processes].reverse()) await handle.stop().catch(() => undefined);
        for (const stop of stoppers.reverse()) await Promise.resolve(stop()).catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      })();
      return cleaning;
    },
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping every process of the run and removing ${dir}`);
      run.cleanup().finally(() => process.exit(130));
    });
  }
  process.once('exit', () => {
    for (const handle of processes) {
      killQuietly(handle.pid);
      for (const pid of handle.extraPids) killQuietly(pid);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return run;
}

function killQuietly(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** Resolves once `url` answers 200, or fails with the process's output. */
export async function waitForOk(url, handle, what, { timeoutMs = 30_000, headers = {} } = {}) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (handle.child.exitCode !== null) {
      throw new Error(`${what} exited (${handle.child.exitCode}):\n${handle.output()}`);
    }
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}:\n${handle.output()}`);
    await sleep(50);
  }
}

/** The tiny upstream (upstream.mjs) on `cpu`; resolves with its address once it listens. */
export async function startUpstream(run, cpu) {
  const handle = run.spawn(cpu, process.execPath, [UPSTREAM]);
  const port = await new Promise((resolve, reject) => {
    let text = '';
    handle.child.stdout.on('data', (chunk) => {
      text += chunk;
      const match = /"port":(\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    });
    void handle.exited.then((code) => reject(new Error(`upstream exited ${code}`)));
  });
  return { ...handle, handle, port, address: `127.0.0.1:${port}` };
}

/** A random service key and its Authorization header. */
export function serviceKey() {
  const key = createHash('sha256').update(String(Math.random())).digest('base64url');
  return { key, authorization: `Bearer ${key}` };
}

/**
 * nginx (one worker, upstream keep-alive, request bodies streamed: proxy_request_buffering
 * off) in front of `upstream`, pinned to `cpu`, its configuration, pid and logs in the run's
 * directory. Like the router it refuses requests without `authorization` (a plain string
 * comparison) and sets the same forwarding headers. Access log on, to a file, as the router
 * logs one line per request.
 */
export async function startNginx(run, cpu, { upstream, authorization }) {
  const port = await freePort();
  const prefix = join(run.dir, 'nginx');
  const conf = join(run.dir, 'nginx.conf');
  await writeFile(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
pid ${prefix}.pid;
error_log ${prefix}-error.log warn;
events { worker_connections 4096; }
http {
  access_log ${prefix}-access.log;
  client_body_temp_path ${prefix}-client-body;
  proxy_temp_path ${prefix}-proxy;
  fastcgi_temp_path ${prefix}-fastcgi;
  uwsgi_temp_path ${prefix}-uwsgi;
  scgi_temp_path ${prefix}-scgi;
  upstream replica {
    server ${upstream};
    keepalive 256;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 101m;
    location / {
      if ($http_authorization != "${authorization}") { return 401; }
      proxy_pass http://replica;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Ms-Request-Id $request_id;
      proxy_request_buffering off;
      proxy_buffering on;
    }
  }
}
`,
  );
  const handle = run.spawn(cpu, 'nginx', ['-p', run.dir, '-c', conf, '-g', 'daemon off;']);
  await waitForOk(`http://127.0.0.1:${port}/`, handle, 'nginx', {
    timeoutMs: 10_000,
    headers: { authorization },
  });
  const workers = childrenOf(handle.pid);
  handle.extraPids.push(...workers);
  return { handle, port, url: `http://127.0.0.1:${port}`, pid: workers[0] ?? handle.pid };
}

/**
 * skiff-router (bin, from sources like `npx skiff-router`) pinned to `cpu`, fed by a
 * RoutingService stand-in in this process with one service `tiny`: key auth (the digest of
 * `key`), `upstream` as its one READY replica, `slots` concurrent requests per replica.
 * Logs (one line per request at the default level) go to a file in the run's directory.
 * `bin` runs another tree's router instead (a candidate change, measured beside this one).
 */
export async function startSkiffRouter(
  run,
  cpu,
  { upstream, key, slots = 256, nodeArgs = [], env = {}, bin = ROUTER_BIN, logFile = 'router.log' },
) {
  const controlPlane = await startFakeControlPlane();
  run.onCleanup(() => controlPlane.close());
  controlPlane.publish(
    table(1, [
      route({
        service: 'tiny',
        authMode: AuthMode.AUTH_MODE_KEY,
        keySha256: [createHash('sha256').update(key).digest('hex')],
        maxConcurrentPerReplica: slots,
        maxQueueWait: { seconds: 10, nanos: 0 },
        scoringTimeout: { seconds: 60, nanos: 0 },
        replicas: [replica(upstream)],
      }),
    ]),
  );
  const port = await freePort();
  const handle = run.spawn(cpu, process.execPath, [...nodeArgs, bin], {
    logFile,
    env: {
      SKIFF_ENDPOINT: controlPlane.address,
      SKIFF_TOKEN: 'skf_bench_router',
      SKIFF_WORKSPACE: 'team-a',
      SKIFF_COMPUTE: 'local',
      SKIFF_ROUTER_LISTEN: `127.0.0.1:${port}`,
      SKIFF_ROUTER_DRAIN_TIMEOUT_MS: '2000',
      ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(`${url}/readyz`, handle, 'skiff-router');
  return { handle, port, url, pid: handle.pid, scoringPath: '/api/v1/service/tiny/score' };
}
