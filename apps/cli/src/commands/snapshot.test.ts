import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { snapshotDigest } from '@skiff/hashing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliIo } from '../io.js';
import { main } from '../main.js';

interface Captured {
  readonly io: CliIo;
  readonly out: () => string;
  readonly err: () => string;
}

function capture(cwd: string): Captured {
  let out = '';
  let err = '';
  return {
    io: { out: (text) => void (out += text), err: (text) => void (err += text), cwd, env: {} },
    out: () => out,
    err: () => err,
  };
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'skiff-cli-snapshot-'));
  await mkdir(join(root, 'src', 'lib'), { recursive: true });
  await writeFile(join(root, 'src', 'score.py'), 'def init():\n    pass\n');
  await writeFile(join(root, 'src', 'lib', 'util.py'), 'X = 1\n');
  await writeFile(join(root, 'src', 'run.sh'), '#!/bin/sh\n');
  await chmod(join(root, 'src', 'run.sh'), 0o755);
  await writeFile(join(root, 'src', 'notes.ipynb'), '{}');
  await writeFile(join(root, 'src', '.amlignore'), '*.ipynb\n');
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('skiff snapshot ls', () => {
  it('prints each uploaded file with its size, then the digest on the last line', async () => {
    const run = capture(root);
    expect(await main(['snapshot', 'ls', 'src'], run.io)).toBe(0);
    const lines = run.out().trimEnd().split('\n');
    expect(lines).toEqual([
      ' 8  .amlignore',
      ' 6  lib/util.py',
      '10  run.sh',
      '21  score.py',
      (await snapshotDigest(join(root, 'src'))).digest,
    ]);
    expect(lines.at(-1)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.err()).toMatch(/^4 files, 45 bytes; zip \d+ bytes\n$/);
  });

  it('prints JSON with -o json', async () => {
    const run = capture(root);
    expect(await main(['snapshot', 'ls', join(root, 'src'), '-o', 'json'], run.io)).toBe(0);
    const report = JSON.parse(run.out()) as Record<string, unknown>;
    expect(report).toMatchObject({
      directory: join(root, 'src'),
      fileCount: 4,
      totalBytes: 45,
      digest: (await snapshotDigest(join(root, 'src'))).digest,
    });
    expect(report['files']).toContainEqual({ path: 'run.sh', size: 10, executable: true });
    expect(report['files']).toContainEqual({ path: 'score.py', size: 21, executable: false });
    expect(run.err()).toBe('');
  });

  it('prints the same digest for the same files', async () => {
    const copy = join(root, 'copy');
    await mkdir(join(copy, 'lib'), { recursive: true });
    await writeFile(join(copy, 'lib', 'util.py'), 'X = 1\n');
    await writeFile(join(copy, '.amlignore'), '*.ipynb\n');
    await writeFile(join(copy, 'score.py'), 'def init():\n    pass\n');
    await writeFile(join(copy, 'run.sh'), '#!/bin/sh\n');
    await chmod(join(copy, 'run.sh'), 0o755);
    const [a, b] = [capture(root), capture(root)];
    await main(['snapshot', 'ls', 'src'], a.io);
    await main(['snapshot', 'ls', 'copy'], b.io);
    expect(b.out()).toBe(a.out());
    await writeFile(join(copy, 'score.py'), 'def init():\n    return 1\n');
    const c = capture(root);
    await main(['snapshot', 'ls', 'copy'], c.io);
    expect(c.out().trimEnd().split('\n').at(-1)).not.toBe(a.out().trimEnd().split('\n').at(-1));
  });

  it('fails with exit 1 and a clear message for a missing directory or a file', async () => {
    const missing = capture(root);
    expect(await main(['snapshot', 'ls', 'nope'], missing.io)).toBe(1);
    expect(missing.err()).toBe(
      `skiff snapshot ls: nope: no such directory (looked for ${join(root, 'nope')})\n`,
    );
    expect(missing.out()).toBe('');
    const file = capture(root);
    expect(await main(['snapshot', 'ls', 'src/score.py'], file.io)).toBe(1);
    expect(file.err()).toBe('skiff snapshot ls: src/score.py: not a directory\n');
  });

  it('fails with exit 1 naming a symlink that leaves the directory', async () => {
    await symlink('/etc/hostname', join(root, 'src', 'host'));
    const run = capture(root);
    expect(await main(['snapshot', 'ls', 'src'], run.io)).toBe(1);
    expect(run.err()).toContain('skiff snapshot ls: symlink host -> /etc/hostname leads outside');
    expect(run.out()).toBe('');
  });

  it('is a usage error (exit 2) without a directory or with an unknown format', async () => {
    const noDir = capture(root);
    expect(await main(['snapshot', 'ls'], noDir.io)).toBe(2);
    expect(noDir.err()).toMatch(/missing required argument 'dir'/);
    const badFormat = capture(root);
    expect(await main(['snapshot', 'ls', 'src', '-o', 'yaml'], badFormat.io)).toBe(2);
    expect(badFormat.err()).toMatch(/argument 'yaml' is invalid/);
  });

  it('documents itself in --help', async () => {
    const run = capture(root);
    expect(await main(['snapshot', 'ls', '--help'], run.io)).toBe(0);
    expect(run.out()).toContain('Usage: skiff snapshot ls [options] <dir>');
    expect(run.out()).toContain('.amlignore');
    expect(run.out()).toContain('-o, --output <format>');
  });
});
