import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { freePort } from '@skiff/testing';

/** Azurite's fixed development account (public, documented by Microsoft for the emulator). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const HOW_TO_GET_AZURITE =
  'The Azure Blob tests need the Azurite emulator from npm (a devDependency of the workspace: ' +
  'run `npm ci` at the repository root; the binary is node_modules/.bin/azurite-blob), or set ' +
  'AZURITE_BLOB_BIN to an azurite-blob executable script.';

/** A running Azurite blob service on loopback. */
export interface TestAzurite {
  /** Connection string for the development account at `http://127.0.0.1:PORT/devstoreaccount1`. */
  readonly connectionString: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** The connection string of Azurite's development account on `127.0.0.1:port`. */
export function azuriteConnectionString(port: number): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`
  );
}

/**
 * Starts `azurite-blob` on a free loopback port, in memory, without telemetry; fails with
 * instructions when it cannot.
 */
export async function startAzurite(env: NodeJS.ProcessEnv = process.env): Promise<TestAzurite> {
  const script = env['AZURITE_BLOB_BIN'] ?? resolveAzuriteBlob();
  const port = await freePort();
  const args = [script, '--blobHost', '127.0.0.1', '--blobPort', String(port)];
  args.push('--disableTelemetry', '--skipApiVersionCheck', '--inMemoryPersistence', '--silent');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  for (let attempt = 0; attempt < 200; attempt++) {
    const failed = await Promise.race([spawnError, delay(50).then(() => undefined)]);
    if (failed)
      throw new Error(`could not start Azurite (${failed.message}). ${HOW_TO_GET_AZURITE}`);
    if (child.exitCode !== null) break;
    if (await listening(port)) {
      return {
        connectionString: azuriteConnectionString(port),
        port,
        stop: () => stopChild(child),
      };
    }
  }
  await stopChild(child);
  throw new Error(
    `Azurite did not come up on 127.0.0.1:${port}: ${stderr.trim()}. ${HOW_TO_GET_AZURITE}`,
  );
}

function resolveAzuriteBlob(): string {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('azurite/package.json')), 'dist/src/blob/main.js');
  } catch (error) {
    throw new Error(`Azurite is not installed (${String(error)}). ${HOW_TO_GET_AZURITE}`, {
      cause: error,
    });
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, delay(5_000).then(() => child.kill('SIGKILL'))]);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
