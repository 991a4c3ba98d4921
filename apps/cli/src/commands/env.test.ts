import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { CliIo } from '../io.js';
import { main } from '../main.js';

const fixtures = fileURLToPath(new URL('../../../../libs/config/test-fixtures/', import.meta.url));

async function run(argv: string[], cwd: string) {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), cwd, env: {} };
  const code = await main(argv, io);
  return { code, out, err };
}

const temporary: string[] = [];
afterEach(async () => {
  await Promise.all(temporary.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});
async function tempProject(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-env-hash-'));
  temporary.push(dir);
  await cp(join(fixtures, 'project'), dir, { recursive: true });
  return dir;
}

async function hashIn(dir: string, file = 'inferenceconfig.json'): Promise<string> {
  const { code, out, err } = await run(['env', 'hash', '--ic', file], dir);
  expect(err).toBe('');
  expect(code).toBe(0);
  return out;
}

async function editJson(path: string, edit: (value: Record<string, unknown>) => void) {
  const value = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  edit(value);
  await writeFile(path, JSON.stringify(value));
}

describe('skiff env hash', () => {
  it('prints the environment hash as one line', async () => {
    expect(await hashIn(join(fixtures, 'project'))).toMatch(/^sha256:v1:[0-9a-f]{64}\n$/);
  });

  it('is unchanged by reformatting the conda file, and by registry credentials', async () => {
    const dir = await tempProject();
    const before = await hashIn(dir);
    const conda = await readFile(join(dir, 'source/myenv.yml'), 'utf8');
    await writeFile(
      join(dir, 'source/myenv.yml'),
      `# reformatted\n${conda.replaceAll('  - ', '    - ')}\n\n`,
    );
    await editJson(join(dir, 'inferenceconfig.json'), (ic) => {
      ic['description'] = 'a new description';
    });
    expect(await hashIn(dir)).toBe(before);
  });

  it('changes when a dependency, the Dockerfile steps or the base image change', async () => {
    const dir = await tempProject();
    const seen = new Set([await hashIn(dir)]);
    const conda = await readFile(join(dir, 'source/myenv.yml'), 'utf8');
    await writeFile(
      join(dir, 'source/myenv.yml'),
      conda.replace('scikit-learn==1.3.2', 'scikit-learn==1.4.0'),
    );
    seen.add(await hashIn(dir));
    await writeFile(join(dir, 'source/docker-steps'), 'RUN echo changed\n');
    seen.add(await hashIn(dir));
    await editJson(join(dir, 'inferenceconfig.json'), (ic) => {
      ic['baseImage'] = 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240101.v1';
    });
    seen.add(await hashIn(dir));
    expect(seen.size).toBe(4);
  });

  it('gives the nested spelling of the same environment the same hash', async () => {
    const dir = await tempProject();
    await writeFile(
      join(dir, 'nested.json'),
      JSON.stringify({
        entryScript: 'score.py',
        sourceDirectory: 'source',
        environment: {
          // Paths inside a nested environment stay relative to the configuration file.
          python: { condaDependenciesFile: 'source/myenv.yml' },
          docker: { baseImage: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest' },
        },
      }),
    );
    await editJson(join(dir, 'inferenceconfig.json'), (ic) => {
      delete ic['extraDockerfileSteps'];
    });
    expect(await hashIn(dir, 'nested.json')).toBe(await hashIn(dir));
  });

  it('hashes a YAML inference configuration like the same one in JSON', async () => {
    const dir = await tempProject();
    const ic = JSON.parse(await readFile(join(dir, 'inferenceconfig.json'), 'utf8')) as object;
    await writeFile(join(dir, 'inferenceconfig.yml'), stringify(ic));
    expect(await hashIn(dir, 'inferenceconfig.yml')).toBe(await hashIn(dir));
  });

  it('names a conda file it cannot read and exits 1', async () => {
    const dir = await tempProject();
    await rm(join(dir, 'source/myenv.yml'));
    const { code, out, err } = await run(['env', 'hash', '--ic', 'inferenceconfig.json'], dir);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(
      `inferenceconfig.json: condaFile: cannot read ${join(dir, 'source/myenv.yml')} ("myenv.yml" relative to sourceDirectory): no such file\n`,
    );
  });

  it('reports an invalid inference configuration and exits 1', async () => {
    const { code, err } = await run(
      ['env', 'hash', '--ic', 'invalid/missing-entry.inferenceconfig.json'],
      fixtures,
    );
    expect(code).toBe(1);
    expect(err.trimEnd().split('\n')).toEqual([
      'invalid/missing-entry.inferenceconfig.json: entryScript: missing; expected a path to the entry script, e.g. "score.py"',
      'invalid/missing-entry.inferenceconfig.json: enableGpu: expected true or false, got "yes"',
    ]);
  });

  it('reports a conda file that is not a YAML mapping and exits 1', async () => {
    const dir = await tempProject();
    await writeFile(join(dir, 'source/myenv.yml'), '- just\n- a list\n');
    const { code, err } = await run(['env', 'hash', '--ic', 'inferenceconfig.json'], dir);
    expect(code).toBe(1);
    expect(err).toMatch(/^inferenceconfig\.json: /);
  });

  it('is a usage error (exit 2) without --ic', async () => {
    const { code, err } = await run(['env', 'hash'], fixtures);
    expect(code).toBe(2);
    expect(err).toContain("required option '--ic <file>' not specified");
  });

  it('documents itself with --help', async () => {
    const { code, out } = await run(['env', 'hash', '--help'], fixtures);
    expect(code).toBe(0);
    expect(out).toContain('--ic <file>');
  });
});
