// A pod runner that starts a real child process per container, on a free loopback port.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { freePort } from '../ports.js';
import type { ContainerLaunch, ContainerProcess, PodRunner } from './kubelet.js';

/** Options of {@link processPodRunner}. */
export interface ProcessPodRunnerOptions {
  /** The program; default this Node.js (`process.execPath`). */
  readonly command?: string;
  /** Its arguments, fixed or per container. */
  readonly args: readonly string[] | ((launch: ContainerLaunch) => readonly string[]);
  /**
   * Variables added to the container's own environment; default `{ PORT, HOST }`. The child
   * gets the container's resolved `env` plus these plus PATH/HOME/TMPDIR — not the test
   * runner's environment, as a container would not.
   */
  readonly env?: (launch: ContainerLaunch, port: number, host: string) => Record<string, string>;
  /** Loopback address the process listens on; default 127.0.0.1. */
  readonly host?: string;
  readonly cwd?: string;
}

/** An async queue of output lines. */
class Lines implements AsyncIterable<string> {
  readonly #buffer: string[] = [];
  #waiting: ((result: IteratorResult<string>) => void) | undefined;
  #done = false;

  push(line: string): void {
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = undefined;
      resolve({ value: line, done: false });
    } else this.#buffer.push(line);
  }

  end(): void {
    this.#done = true;
    this.#waiting?.({ value: undefined, done: true });
    this.#waiting = undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return {
      next: () => {
        const line = this.#buffer.shift();
        if (line !== undefined) return Promise.resolve({ value: line, done: false });
        if (this.#done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.#waiting = resolve));
      },
    };
  }
}

/**
 * Runs each container as a child process told where to listen by `env` (default PORT and
 * HOST). The returned address is `host:port`, which the fake exposes as the pod's IP and
 * first container port. Output lines become the container log; a process that exits is
 * restarted by the fake's kubelet like a container.
 */
export function processPodRunner(options: ProcessPodRunnerOptions): PodRunner {
  const host = options.host ?? '127.0.0.1';
  return async (launch): Promise<ContainerProcess> => {
    const port = await freePort(host);
    const extra = options.env
      ? options.env(launch, port, host)
      : { PORT: String(port), HOST: host };
    const base: Record<string, string> = {};
    for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
      const value = process.env[key];
      if (value !== undefined) base[key] = value;
    }
    const args = typeof options.args === 'function' ? options.args(launch) : options.args;
    const child = spawn(options.command ?? process.execPath, [...args], {
      env: { ...base, ...launch.env, ...extra },
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = new Lines();
    let open = 2;
    for (const stream of [child.stdout, child.stderr]) {
      const reader = createInterface({ input: stream });
      reader.on('line', (line) => lines.push(`${line}\n`));
      reader.on('close', () => {
        if (--open === 0) lines.end();
      });
    }
    const exited = new Promise<number>((resolve) => {
      child.on('close', (code, signal) => {
        const number = signal ? (constants.signals[signal] ?? 9) : 0;
        resolve(code ?? 128 + number);
      });
      child.on('error', () => resolve(127));
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    let finished = false;
    void exited.then(() => (finished = true));
    return {
      address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
      exited,
      logs: lines,
      ...(child.pid === undefined ? {} : { pid: child.pid }),
      stop: async (gracePeriodMs) => {
        if (finished) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, gracePeriodMs));
        await exited;
        clearTimeout(timer);
      },
    };
  };
}

// The process behind httpPodRunner: plain Node, no dependencies. `GET` anything → 200 when
// ready (503 before); `POST /ready` / `POST /unready` switch; `POST /log` prints the body;
// `POST /exit?code=N` exits. SIGTERM closes the server and exits 0, as a well-behaved replica.
const HTTP_POD_SCRIPT = `
const http = require('node:http');
let ready = process.env.START_READY !== 'false';
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://pod');
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.method === 'POST' && url.pathname === '/ready') ready = true;
    else if (req.method === 'POST' && url.pathname === '/unready') ready = false;
    else if (req.method === 'POST' && url.pathname === '/log') console.log(body);
    else if (req.method === 'POST' && url.pathname === '/exit') {
      res.end('bye', () => process.exit(Number(url.searchParams.get('code') ?? '1')));
      return;
    } else if (req.method === 'GET') {
      res.statusCode = ready ? 200 : 503;
      res.end(ready ? 'Healthy' : 'not ready');
      return;
    }
    res.end('ok');
  });
});
server.listen(Number(process.env.PORT), process.env.HOST, () => {
  console.log('listening on ' + process.env.HOST + ':' + process.env.PORT + ' as ' + (process.env.POD_NAME || ''));
});
process.on('SIGTERM', () => {
  console.log('stopping');
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
`;

/** Options of {@link httpPodRunner}. */
export interface HttpPodRunnerOptions {
  /** Whether `GET` answers 200 from the start (default) or 503 until `POST /ready`. */
  readonly startReady?: boolean;
}

/**
 * A runner whose containers are a small real HTTP server (a Node process): `GET` any path
 * answers 200 `Healthy` when ready, else 503; `POST /ready`, `POST /unready`, `POST /log`
 * (prints the body to stdout) and `POST /exit?code=N` drive it from a test. It prints
 * `listening on HOST:PORT as POD_NAME` at start and `stopping` on SIGTERM.
 */
export function httpPodRunner(options: HttpPodRunnerOptions = {}): PodRunner {
  return processPodRunner({
    args: ['-e', HTTP_POD_SCRIPT],
    env: (launch, port, host) => ({
      PORT: String(port),
      HOST: host,
      POD_NAME: launch.podName,
      START_READY: String(options.startReady ?? true),
    }),
  });
}
