import { execFile } from 'node:child_process';
import { cp, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { main } from '../main.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const fixtures = join(repoRoot, 'libs/config/test-fixtures');

/** Runs `skiff <argv>` in-process in `cwd`, capturing stdout and stderr. */
async function run(argv: string[], cwd = fixtures) {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    cwd,
    env: {},
  };
  const code = await main(argv, io);
  return { code, out, err };
}

const temporary: string[] = [];
afterEach(async () => {
  await Promise.all(temporary.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});
async function tempProject(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-config-check-'));
  temporary.push(dir);
  await cp(join(fixtures, 'project'), dir, { recursive: true });
  return dir;
}

describe('skiff config check', () => {
  it('prints both configurations normalized, defaults filled, and exits 0', async () => {
    const { code, out, err } = await run([
      'config',
      'check',
      '--ic',
      'project/inferenceconfig.json',
      '--dc',
      'project/deploymentconfig.json',
    ]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const printed = JSON.parse(out) as Record<string, Record<string, unknown>>;
    expect(Object.keys(printed)).toEqual(['inferenceConfig', 'deploymentConfig']);
    expect(printed['inferenceConfig']).toMatchObject({
      entryScript: 'score.py',
      sourceDirectory: 'source',
      runtime: 'python',
    });
    expect(printed['deploymentConfig']).toMatchObject({
      computeType: 'aks',
      autoScaler: {
        autoscaleEnabled: true,
        minReplicas: 2,
        maxReplicas: 4,
        refreshPeriodInSeconds: 1,
        targetUtilization: 70,
      },
      scoringTimeoutMs: 60000,
      maxQueueWaitMs: 500,
      authEnabled: true,
      tokenAuthEnabled: false,
    });
  });

  it('checks a deployment configuration alone', async () => {
    const { code, out } = await run([
      'config',
      'check',
      '--dc',
      'valid/local.deploymentconfig.json',
    ]);
    expect(code).toBe(0);
    const printed = JSON.parse(out) as Record<string, Record<string, unknown>>;
    expect(Object.keys(printed)).toEqual(['deploymentConfig']);
    expect(printed['deploymentConfig']).toMatchObject({ computeType: 'local', port: 32267 });
  });

  it('checks a nested-environment inference configuration alone', async () => {
    const { code, out, err } = await run([
      'config',
      'check',
      '--ic',
      'project-nested/inferenceconfig.json',
    ]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      inferenceConfig: { shape: 'environment', entryScript: 'score.py' },
    });
  });

  it('lists every problem on its own stderr line and exits 1', async () => {
    const { code, out, err } = await run([
      'config',
      'check',
      '--dc',
      'invalid/many-problems.deploymentconfig.json',
      '--ic',
      'invalid/missing-entry.inferenceconfig.json',
    ]);
    expect(code).toBe(1);
    expect(out).toBe('');
    const lines = err.trimEnd().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines).toContain(
      'invalid/missing-entry.inferenceconfig.json: entryScript: missing; expected a path to the entry script, e.g. "score.py"',
    );
    expect(lines).toContain(
      'invalid/many-problems.deploymentconfig.json: autoScaler.targetUtilization: expected an integer from 1 to 100, got 150',
    );
    expect(lines).toContain(
      'invalid/many-problems.deploymentconfig.json: tokenAuthEnabled: not allowed with authEnabled true; enable key auth or token auth, not both',
    );
  });

  it('says which file is missing and exits 1', async () => {
    const { code, err } = await run(['config', 'check', '--dc', 'nowhere/deploymentconfig.json']);
    expect(code).toBe(1);
    expect(err).toBe(
      `nowhere/deploymentconfig.json: no such file (looked for ${join(fixtures, 'nowhere/deploymentconfig.json')})\n`,
    );
  });

  it('reads a file of another extension by its content, as v1 did', async () => {
    const { code, out, err } = await run([
      'config',
      'check',
      '--dc',
      'invalid/yaml-instead-of-json.deploymentconfig.txt',
    ]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ deploymentConfig: { numReplicas: 2 } });
  });

  it('says a .json file holds YAML, with the file name', async () => {
    const dir = await tempProject();
    await writeFile(join(dir, 'deploymentconfig.json'), 'computeType: aks\nnumReplicas: 2\n');
    const { code, err } = await run(['config', 'check', '--dc', 'deploymentconfig.json'], dir);
    expect(code).toBe(1);
    expect(err).toMatch(
      /^deploymentconfig\.json: not valid JSON: .*; the file holds YAML: rename it to deploymentconfig\.yml .*\n$/,
    );
  });

  it('reads YAML files and reports their problems with the file and the field path', async () => {
    const dir = await tempProject();
    await writeFile(
      join(dir, 'inferenceconfig.yml'),
      'entryScript: score.py\nsourceDirectory: source\ncondaFile: myenv.yml\n',
    );
    await writeFile(
      join(dir, 'deploymentconfig.yml'),
      'computeType: aks\ncomputeTargetName: aks1\nautoScaler:\n  autoscaleEnabled: yes\n  maxReplicas: 4\n',
    );
    const good = await run(
      ['config', 'check', '--ic', 'inferenceconfig.yml', '--dc', 'deploymentconfig.yml'],
      dir,
    );
    expect(good.err).toBe('');
    expect(JSON.parse(good.out)).toMatchObject({
      inferenceConfig: { entryScript: 'score.py', environment: { condaFile: 'myenv.yml' } },
      deploymentConfig: { computeTargetName: 'aks1', autoScaler: { maxReplicas: 4 } },
    });

    await writeFile(
      join(dir, 'deploymentconfig.yml'),
      'computeType: aks\nnumReplicas: 0\nautoScaler:\n  maxReplicas: many\n',
    );
    const bad = await run(['config', 'check', '--dc', 'deploymentconfig.yml'], dir);
    expect(bad.code).toBe(1);
    expect(bad.err.trimEnd().split('\n')).toEqual([
      'deploymentconfig.yml: autoScaler.maxReplicas: expected an integer >= 1, got "many"',
      'deploymentconfig.yml: numReplicas: expected an integer greater than zero (Azure ML v1 refused it too: a service needs a replica to answer; leave numReplicas unset to autoscale), got 0',
    ]);
  });

  it('reports files the inference configuration names but that do not exist', async () => {
    const dir = await tempProject();
    await rm(join(dir, 'source/myenv.yml'));
    await rm(join(dir, 'source/score.py'));
    const { code, err } = await run(['config', 'check', '--ic', 'inferenceconfig.json'], dir);
    expect(code).toBe(1);
    expect(err.trimEnd().split('\n')).toEqual([
      `inferenceconfig.json: entryScript: no such file: ${join(dir, 'source/score.py')}`,
      `inferenceconfig.json: condaFile: cannot read ${join(dir, 'source/myenv.yml')} ("myenv.yml" relative to sourceDirectory): no such file`,
    ]);
  });

  it('reads condaFile and extraDockerfileSteps relative to sourceDirectory, as v1 did', async () => {
    const dir = await tempProject();
    // The old layout: files beside the configuration, not in sourceDirectory.
    await rename(join(dir, 'source/myenv.yml'), join(dir, 'myenv.yml'));
    const moved = await run(['config', 'check', '--ic', 'inferenceconfig.json'], dir);
    expect(moved.code).toBe(1);
    expect(moved.err).toBe(
      `inferenceconfig.json: condaFile: cannot read ${join(dir, 'source/myenv.yml')} ("myenv.yml" relative to sourceDirectory): ` +
        `no such file; ${join(dir, 'myenv.yml')} exists, but condaFile is relative to sourceDirectory (as in Azure ML v1): ` +
        'write "../myenv.yml" or move the file into sourceDirectory\n',
    );
    // From another working directory the same file reads the same.
    const elsewhere = await run(
      ['config', 'check', '--ic', join(dir, 'inferenceconfig.json')],
      tmpdir(),
    );
    expect(elsewhere.err).toBe(
      moved.err.replace('inferenceconfig.json', join(dir, 'inferenceconfig.json')),
    );
  });

  it('defaults the GPU count from the inference configuration', async () => {
    const dir = await tempProject();
    await writeFile(
      join(dir, 'gpu.json'),
      JSON.stringify({ entryScript: 'score.py', sourceDirectory: 'source', enableGpu: true }),
    );
    const { code, out } = await run(
      ['config', 'check', '--ic', 'gpu.json', '--dc', 'deploymentconfig.json'],
      dir,
    );
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      deploymentConfig: { containerResourceRequirements: { gpu: 1 } },
    });
  });

  it('hides registry passwords and service keys unless asked', async () => {
    const dir = await tempProject();
    await writeFile(
      join(dir, 'ic.json'),
      JSON.stringify({
        entryScript: 'score.py',
        sourceDirectory: 'source',
        baseImageRegistry: { address: 'r.example', username: 'u', password: 'hunter2-password' },
      }),
    );
    await writeFile(
      join(dir, 'dc.json'),
      JSON.stringify({ computeType: 'aks', keys: { primaryKey: 'primary-key-value' } }),
    );
    const hidden = await run(['config', 'check', '--ic', 'ic.json', '--dc', 'dc.json'], dir);
    expect(hidden.code).toBe(0);
    expect(hidden.out).not.toContain('hunter2-password');
    expect(hidden.out).not.toContain('primary-key-value');
    expect(JSON.parse(hidden.out)).toMatchObject({
      deploymentConfig: { keys: { primaryKey: '<redacted>', secondaryKey: null } },
    });
    const shown = await run(
      ['config', 'check', '--ic', 'ic.json', '--dc', 'dc.json', '--show-secrets'],
      dir,
    );
    expect(shown.out).toContain('hunter2-password');
    expect(shown.out).toContain('primary-key-value');
  });

  it('is a usage error (exit 2) without --ic or --dc', async () => {
    const { code, out, err } = await run(['config', 'check']);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain('give --ic <file>, --dc <file> or both');
  });

  it('is a usage error (exit 2) with an unknown flag', async () => {
    expect((await run(['config', 'check', '--deploy-config', 'x.json'])).code).toBe(2);
  });

  it('documents itself with --help', async () => {
    const { code, out } = await run(['config', 'check', '--help']);
    expect(code).toBe(0);
    expect(out).toContain('--ic <file>');
    expect(out).toContain('--dc <file>');
    expect((await run(['config', '--help'])).out).toContain('check');
  });

  it('works from the real bin in a fresh process', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        join(repoRoot, 'apps/cli/bin/skiff.js'),
        'config',
        'check',
        '--ic',
        'project/inferenceconfig.json',
        '--dc',
        'project/deploymentconfig.json',
      ],
      { cwd: fixtures },
    );
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toMatchObject({
      deploymentConfig: { computeType: 'aks', maxQueueWaitMs: 500 },
    });
  });

  it('the real bin exits 1 on an invalid file', async () => {
    const attempt = promisify(execFile)(
      process.execPath,
      [
        join(repoRoot, 'apps/cli/bin/skiff.js'),
        'config',
        'check',
        '--dc',
        'invalid/many-problems.deploymentconfig.json',
      ],
      { cwd: fixtures },
    );
    await expect(attempt).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('autoScaler.targetUtilization'),
    });
  });
});
