// Starts Debian's `docker-registry` (the CNCF distribution registry, 2.8) on a free loopback
// port with filesystem storage in a temporary directory, optionally behind htpasswd (bcrypt)
// or token authentication. A test that needs one and cannot start it fails with instructions.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../ports.js';
import { htpasswdLine } from './bcrypt.js';

/** How the registry authenticates clients. */
export type TestRegistryAuth =
  | { readonly kind: 'htpasswd'; readonly users: Readonly<Record<string, string>> }
  | {
      readonly kind: 'token';
      /** Where clients get tokens (the test token server). */
      readonly realm: string;
      readonly service: string;
      readonly issuer: string;
      /** PEM certificate(s) whose keys sign the tokens. */
      readonly rootCertificatePem: string;
    };

/** A running registry. */
export interface TestRegistry {
  /** `127.0.0.1:<port>`. */
  readonly registry: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** What the registry wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Where the binary is looked for: `$SKIFF_DOCKER_REGISTRY`, else `docker-registry` on PATH. */
export function findDockerRegistry(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['SKIFF_DOCKER_REGISTRY'];
  const candidates = explicit
    ? [explicit]
    : (env['PATH'] ?? '')
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, 'docker-registry'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(
    `These tests need a real container registry: Debian's docker-registry (distribution 2.8) was not found ${
      explicit ? `at SKIFF_DOCKER_REGISTRY=${explicit}` : 'on PATH'
    }. Install it with \`sudo apt-get install docker-registry\` (Debian/Ubuntu), or point ` +
      'SKIFF_DOCKER_REGISTRY at a distribution `registry` binary (https://github.com/distribution/distribution/releases).',
  );
}

/** Starts a registry; call `stop()` when done. */
export async function startTestRegistry(
  options: { auth?: TestRegistryAuth } = {},
): Promise<TestRegistry> {
  const binary = findDockerRegistry();
  const dir = await mkdtemp(join(tmpdir(), 'skiff-registry-'));
  let lastError: unknown;
  try {
    // A port picked free can be taken before the registry binds it; try a few.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      try {
        return await launch(binary, dir, port, options.auth);
      } catch (error) {
        lastError = error;
        if (!String(error).includes('address already in use')) break;
      }
    }
  } catch (error) {
    lastError = error;
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

async function launch(
  binary: string,
  dir: string,
  port: number,
  auth: TestRegistryAuth | undefined,
): Promise<TestRegistry> {
  const registry = `127.0.0.1:${port}`;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(join(dir, 'data'))}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${registry}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (auth?.kind === 'htpasswd') {
    const file = join(dir, 'htpasswd');
    const entries = Object.entries(auth.users).map(([user, password]) =>
      htpasswdLine(user, password),
    );
    await writeFile(file, `${entries.join('\n')}\n`);
    lines.push(
      'auth:',
      '  htpasswd:',
      '    realm: skiff-test',
      `    path: ${JSON.stringify(file)}`,
    );
  } else if (auth?.kind === 'token') {
    const file = join(dir, 'token-root.pem');
    await writeFile(file, auth.rootCertificatePem);
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${JSON.stringify(auth.realm)}`,
      `    service: ${JSON.stringify(auth.service)}`,
      `    issuer: ${JSON.stringify(auth.issuer)}`,
      `    rootcertbundle: ${JSON.stringify(file)}`,
    );
  }
  const config = join(dir, `config-${port}.yml`);
  await writeFile(config, `${lines.join('\n')}\n`);

  const child = spawn(binary, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const origin = `http://${registry}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const outcome = await Promise.race([
      exited.then(
        (code) =>
          new Error(`docker-registry exited with code ${code} before answering:\n${output}`),
      ),
      spawnError.then(
        (error) => new Error(`docker-registry could not be started (${binary}): ${error.message}`),
      ),
      probe(origin),
    ]);
    if (outcome === true) break;
    if (outcome instanceof Error) {
      await stopChild(child, exited);
      throw outcome;
    }
    if (Date.now() > deadline) {
      await stopChild(child, exited);
      throw new Error(`docker-registry did not answer on ${origin} within 15 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    registry,
    origin,
    output: () => output,
    async stop() {
      await stopChild(child, exited);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// true once GET /v2/ answers at all (200, or 401 behind auth).
async function probe(origin: string): Promise<boolean> {
  try {
    const response = await fetch(`${origin}/v2/`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.status === 200 || response.status === 401;
  } catch {
    return false;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
