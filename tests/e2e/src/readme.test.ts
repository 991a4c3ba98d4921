import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordChild, repoRoot, waitFor } from './support/processes.js';
import { portFree } from './support/up-platform.js';

/** The ```sh blocks of the README's Quickstart section, in order. */
function quickstartBlocks(): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Quickstart'),
    readme.indexOf('\n## ', readme.indexOf('## Quickstart') + 1),
  );
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!.trim());
}

/** A shell running README lines, in its own process group (as a terminal runs it). */
interface Shell {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Ctrl-C: SIGINT to the whole process group. */
  interrupt(): void;
}

function shell(script: string, cwd: string, env: NodeJS.ProcessEnv): Shell {
  const child = spawn('sh', ['-e', '-c', script], {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { output, exited } = recordChild(child);
  return {
    child,
    output,
    exited,
    interrupt: () => {
      try {
        process.kill(-child.pid!, 'SIGINT');
      } catch {
        // Exited already.
      }
    },
  };
}

/** Ctrl-C: skiff stops everything and says so; the README's ports are free again. */
async function stopped(up: Shell): Promise<void> {
  up.interrupt();
  // The shell itself dies of the SIGINT, as in a terminal; skiff exits 0 after its last line.
  await up.exited;
  expect(up.output()).toMatch(/skiff is down\.\n$/);
  for (const port of [8080, 50051]) expect(await portFree(port)).toBe(true);
}

// The README's Quickstart, run exactly as written (after its `npm ci`, which CI runs just
// before the tests), from a folder that looks like a fresh clone: the one-line quickstart,
// then the step-by-step path in two "terminals". The only things the test sets are what a
// user's machine provides: an empty HOME, and a Redis of its own at REDIS_URL (so the machine's
// shared Redis is left alone). Ports are the README's defaults.
describe('the README quickstart', () => {
  let clone: string;
  let home: string;
  let redis: ChildProcess;
  let env: NodeJS.ProcessEnv;
  const running: Shell[] = [];
  const blocks = quickstartBlocks();

  beforeAll(async () => {
    clone = await mkdtemp(join(tmpdir(), 'skiff-readme-'));
    home = join(clone, 'home');
    await mkdir(home);
    for (const entry of ['node_modules', 'examples', 'package.json']) {
      await symlink(join(repoRoot, entry), join(clone, entry));
    }
    const port = await freePort();
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const {
      SKIFF_ENDPOINT: _endpoint,
      SKIFF_TOKEN: _token,
      SKIFF_WORKSPACE: _workspace,
      SKIFF_CONFIG_DIR: _config,
      ...inherited
    } = process.env;
    env = { ...inherited, HOME: home, REDIS_URL: `redis://127.0.0.1:${port}` };
    for (const busy of [8080, 50051]) {
      expect(await portFree(busy), `port ${busy} (a README default) is busy`).toBe(true);
    }
  });
  afterAll(async () => {
    for (const shell of running) {
      shell.interrupt();
      await Promise.race([shell.exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    }
    redis?.kill('SIGKILL');
    if (clone) await rm(clone, { recursive: true, force: true });
  });

  it('has the one-line quickstart and the step-by-step path', () => {
    expect(blocks).toHaveLength(3);
    expect(blocks[0]).toMatch(/^npm ci && npx skiff up --deploy examples\/iris-python /);
    expect(blocks[0]!.split('\n')).toHaveLength(1);
    expect(blocks[1]).toBe('npx skiff up');
  });

  it('one line: starts the platform, deploys the example, scores it, prints a curl line that works', async () => {
    // `npm ci` has run (CI runs it right before the tests); the rest runs as written.
    const line = blocks[0]!.replace(/^npm ci && /, '');
    const up = shell(line, clone, env);
    running.push(up);
    const curl = await waitFor(
      'the curl line',
      async () => {
        if (up.child.exitCode !== null) throw new Error(`exited: ${up.output()}`);
        return /^ {2}(curl .*)$/m.exec(up.output())?.[1];
      },
      240_000,
      up.output,
    );
    expect(up.output()).toMatch(/http:\/\/127\.0\.0\.1:8080\/api\/v1\/service\/iris-python\/score/);
    const scored = shell(curl, clone, env);
    expect(await scored.exited, scored.output()).toBe(0);
    expect(scored.output()).toMatch(/"predictions": ?\["setosa"\]/);
    await stopped(up);
  }, 300_000);

  it('step by step: skiff up in one terminal, register, deploy and curl in another', async () => {
    const up = shell(blocks[1]!, clone, env);
    running.push(up);
    await waitFor(
      'skiff up to be up',
      async () => {
        if (up.child.exitCode !== null) throw new Error(`exited: ${up.output()}`);
        return /Stop with Ctrl-C/.test(up.output()) ? true : undefined;
      },
      120_000,
      up.output,
    );
    const terminal2 = shell(blocks[2]!, clone, env);
    expect(await terminal2.exited, `${terminal2.output()}\n${up.output()}`).toBe(0);
    expect(terminal2.output()).toMatch(/"predictions": ?\["setosa"\]/);
    await stopped(up);
  }, 300_000);
});
