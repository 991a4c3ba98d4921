import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelDigest } from '@skiff/hashing';
import { Role } from '@skiff/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runSkiff,
  startControlPlaneProcess,
  type ControlPlaneProcess,
} from '../test-support/control-plane.js';

describe('skiff model download and delete against a control plane process', () => {
  let cp: ControlPlaneProcess;
  let dir: string;
  let env: Record<string, string>;
  let readerEnv: Record<string, string>;
  const skiff = (argv: string[], as = env) => runSkiff(argv, as, dir);

  beforeAll(async () => {
    cp = await startControlPlaneProcess();
    dir = await mkdtemp(join(tmpdir(), 'skiff-cli-model-files-'));
    const base = { SKIFF_ENDPOINT: cp.endpoint, SKIFF_WORKSPACE: 'team-m' };
    env = { ...base, SKIFF_TOKEN: await cp.team('team-m', Role.ROLE_DEPLOYER) };
    readerEnv = { ...base, SKIFF_TOKEN: await cp.team('team-m', Role.ROLE_READER) };
    await mkdir(join(dir, 'model', 'weights'), { recursive: true });
    await writeFile(join(dir, 'model', 'model.json'), '{"classes":["setosa"]}');
    await writeFile(join(dir, 'model', 'weights', 'w.bin'), Buffer.alloc(3 * 1024 * 1024, 9));
    for (const path of ['model', 'model/model.json']) {
      const registered = await skiff(['model', 'register', '-n', 'iris', '-p', path]);
      expect(registered.code, registered.err).toBe(0);
    }
  });
  afterAll(async () => {
    await cp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('downloads a version into a directory whose tree digest is the model digest', async () => {
    const run = await skiff(['model', 'download', '-n', 'iris:1', '-t', 'out'], readerEnv);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(
      /^Downloaded model iris:1 \(sha256:[0-9a-f]{64}, 2 files, 3145750 bytes\) to out\.\n$/,
    );
    expect(await modelDigest(join(dir, 'out'))).toBe(await modelDigest(join(dir, 'model')));

    // v1's -i works too; the latest version (a single file) lands as that file.
    const latest = await skiff(['model', 'download', '-i', 'iris', '-t', 'latest']);
    expect(latest.code, latest.err).toBe(0);
    expect(await readFile(join(dir, 'latest', 'model.json'), 'utf8')).toContain('setosa');
  });

  it('refuses to replace existing files unless --overwrite', async () => {
    const again = await skiff(['model', 'download', '-n', 'iris:2', '-t', 'out']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(
      /^skiff: ALREADY_EXISTS: .*model\.json exists; pass overwrite \(--overwrite\)/,
    );
    const overwritten = await skiff([
      'model',
      'download',
      '-n',
      'iris:2',
      '-t',
      'out',
      '--overwrite',
    ]);
    expect(overwritten.code, overwritten.err).toBe(0);
  });

  it('deletes one version; a name without a version is a usage error', async () => {
    const bare = await skiff(['model', 'delete', '-n', 'iris']);
    expect(bare.code).toBe(2);
    expect(bare.err).toMatch(/a version is required/);

    const asReader = await skiff(['model', 'delete', '-n', 'iris:2'], readerEnv);
    expect(asReader.code).toBe(1);
    expect(asReader.err).toMatch(/^skiff: PERMISSION_DENIED/);

    const deleted = await skiff(['model', 'delete', '-n', 'iris:2']);
    expect(deleted.code, deleted.err).toBe(0);
    expect(deleted.out).toBe('Deleted model iris:2.\n');
    const listed = await skiff(['model', 'list', '-n', 'iris', '-o', 'json']);
    expect((JSON.parse(listed.out) as { version: number }[]).map((m) => m.version)).toEqual([1]);
    const missing = await skiff(['model', 'download', '-n', 'iris:2', '-t', 'gone']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^skiff: NOT_FOUND: model 'iris' version 2 not found/);
  });
});
