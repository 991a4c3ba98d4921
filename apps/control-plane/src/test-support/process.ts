import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '@skiff/testing';

const controlPlaneBin = fileURLToPath(new URL('../../bin/skiff-control-plane.js', import.meta.url));

/** A `skiff-control-plane` child process. */
export interface ControlPlaneProcess {
  /** host:port of its gRPC API. */
  readonly address: string;
  /** Everything it printed so far. */
  output(): string;
  /** Sends `signal` (SIGKILL: a crash) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the control plane as users run it (its bin, configuration from the environment) on
 * free loopback ports, and resolves once it answers /readyz. Several may share one Redis
 * prefix, data directory and admin token: that is how control-plane replicas run.
 */
export async function startControlPlaneProcess(env: {
  REDIS_URL: string;
  SKIFF_REDIS_PREFIX: string;
  SKIFF_DATA_DIR: string;
  SKIFF_ADMIN_TOKEN: string;
  [name: string]: string;
}): Promise<ControlPlaneProcess> {
  const address = `127.0.0.1:${await freePort()}`;
  const http = `127.0.0.1:${await freePort()}`;
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [controlPlaneBin], {
    env: {
      ...process.env,
      SKIFF_GRPC_LISTEN: address,
      SKIFF_HTTP_LISTEN: http,
      SKIFF_SHUTDOWN_GRACE_SECONDS: '1',
      SKIFF_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      await exited;
    }
  };
  // Starting from TypeScript sources takes a few seconds.
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) break;
    const ready = await fetch(`http://${http}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { address, output: () => output, kill };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await kill('SIGKILL');
  throw new Error(`the control plane did not become ready on ${address}:\n${output}`);
}
