import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bin, recordChild, repoRoot, startApp } from './support/processes.js';

// Command-line hygiene of every binary, run as users run them: --help names what configures
// the binary and exits 0, a wrong option is one line on stderr and exit 2, and a reader that
// closes the pipe ends the binary quietly.
//
// A closed pipe exits 0, not 141 (a SIGPIPE death): the reader has what it wanted, and
// `set -o pipefail` scripts should not fail because `head` stopped reading.

interface Binary {
  readonly name: string;
  readonly path: string;
  /** What --help must name: the variables (and flags) that configure it. */
  readonly names: readonly string[];
}

const apps: readonly Binary[] = [
  {
    name: 'skiff-doctor',
    path: bin('doctor', 'skiff-doctor'),
    names: ['--trust', '--ca-file', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SKIFF_TOKEN'],
  },
  {
    name: 'skiff-control-plane',
    path: bin('control-plane', 'skiff-control-plane'),
    names: ['SKIFF_GRPC_LISTEN', 'REDIS_URL', 'SKIFF_ADMIN_TOKEN', 'SKIFF_MASTER_KEYS'],
  },
  {
    name: 'skiff-agent',
    path: bin('agent', 'skiff-agent'),
    names: ['SKIFF_ENDPOINT', 'SKIFF_TOKEN', 'SKIFF_COMPUTE', 'REDIS_URL'],
  },
  {
    name: 'skiff-router',
    path: bin('router', 'skiff-router'),
    names: ['--tls-cert', 'SKIFF_ENDPOINT', 'SKIFF_ROUTER_LISTEN'],
  },
  {
    name: 'skiff-scoring-server',
    path: bin('scoring-server', 'skiff-scoring-server'),
    names: ['SKIFF_ENTRY_SCRIPT', 'SKIFF_PORT', 'SKIFF_MODELS'],
  },
];

async function run(path: string, args: readonly string[]) {
  let stdout = '';
  let stderr = '';
  const app = startApp(path, {}, args);
  app.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  app.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await app.exited;
  return { code, stdout, stderr };
}

/**
 * Runs the binary with its stdout read end already closed, so its first write fails with EPIPE
 * (a reader that closes after the first line races with a help text written at once; this is
 * the case that always hits the closed pipe).
 */
async function intoClosedPipe(path: string, args: readonly string[]) {
  const child = spawn(process.execPath, [path, ...args], {
    cwd: repoRoot,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const { exited } = recordChild(child);
  return { code: await exited, stderr };
}

describe.each(apps)('$name', ({ path, names }) => {
  it('--help names its variables and exits 0', async () => {
    const { code, stdout, stderr } = await run(path, ['--help']);
    expect(stderr).toBe('');
    for (const name of names) expect(stdout).toContain(name);
    expect(code).toBe(0);
  });

  it('a wrong option is one line on stderr and exit 2', async () => {
    const { code, stdout, stderr } = await run(path, ['--no-such-option']);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toEqual([expect.stringContaining('--no-such-option')]);
    expect(code).toBe(2);
  });

  it('--help into a closed pipe exits 0 without a stack trace', async () => {
    const { code, stderr } = await intoClosedPipe(path, ['--help']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

describe('skiff', () => {
  const skiff = bin('cli', 'skiff');

  it('compute attach --help into a closed pipe exits 0 without a stack trace', async () => {
    const { code, stderr } = await intoClosedPipe(skiff, ['compute', 'attach', '--help']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('doctor --help names the trust flag and the variables it reads', async () => {
    const { code, stdout } = await run(skiff, ['doctor', '--help']);
    for (const name of ['--trust', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE']) {
      expect(stdout).toContain(name);
    }
    expect(code).toBe(0);
  });
});
