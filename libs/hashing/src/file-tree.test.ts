import { execFile } from 'node:child_process';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotError } from './errors.js';
import { listSnapshotFiles } from './snapshot.js';
import { temporaryDirectories, writeTree, type TreeNode } from './test-support/tree.js';

const dirs = temporaryDirectories();
afterEach(() => dirs.cleanup());
const execFileAsync = promisify(execFile);

const paths = async (dir: string) => (await listSnapshotFiles(dir)).map((entry) => entry.path);

describe('listSnapshotFiles: ignore files', () => {
  it('applies .gitignore with negations, directory patterns and anchors', async () => {
    const dir = await dirs.make();
    await writeTree(dir, {
      '.gitignore': '# build output\n*.pyc\n!keep.pyc\nbuild/\n/data\nlogs/*.log\n',
      'score.py': '',
      'a.pyc': '',
      'keep.pyc': '',
      'build/out.bin': '',
      'src/build/generated.py': '',
      'data/train.csv': '',
      'src/data/ok.csv': '',
      'logs/run.log': '',
      'logs/keep.txt': '',
    });
    expect(await paths(dir)).toEqual([
      '.gitignore',
      'keep.pyc',
      'logs/keep.txt',
      'score.py',
      'src/data/ok.csv',
    ]);
  });

  it('applies nested ignore files relative to their directory, deeper files winning', async () => {
    const dir = await dirs.make();
    await writeTree(dir, {
      '.gitignore': 'build/\n*.tmp\n',
      'a/.gitignore': '!build/\n/only-here.txt\n',
      'a/build/x.py': '',
      'a/only-here.txt': '',
      'a/b/only-here.txt': '',
      'a/c.tmp': '',
      'build/y.py': '',
      'only-here.txt': '',
    });
    expect(await paths(dir)).toEqual([
      '.gitignore',
      'a/.gitignore',
      'a/b/only-here.txt',
      'a/build/x.py',
      'only-here.txt',
    ]);
  });

  it('uses .amlignore instead of .gitignore in the directories that have one', async () => {
    const dir = await dirs.make();
    await writeTree(dir, {
      '.gitignore': 'models/\n',
      '.amlignore': '*.ipynb\n.gitignore\n',
      'models/model.pkl': '',
      'explore.ipynb': '',
      'sub/.gitignore': 'secret.txt\n',
      'sub/secret.txt': '',
      'sub/other/.amlignore': '',
      'sub/other/.gitignore': '*\n',
      'sub/other/kept.txt': '',
      'score.py': '',
    });
    expect(await paths(dir)).toEqual([
      '.amlignore',
      'models/model.pkl',
      'score.py',
      'sub/other/.amlignore',
      'sub/other/kept.txt',
    ]);
  });

  it('never includes .git, and matches case-sensitively', async () => {
    const dir = await dirs.make();
    await writeTree(dir, {
      '.git/HEAD': 'ref: refs/heads/main\n',
      'vendor/lib/.git': 'gitdir: ../../.git/modules/lib\n',
      'vendor/lib/x.py': '',
      '.gitignore': 'README.md\n',
      'readme.md': '',
      'README.md': '',
    });
    expect(await paths(dir)).toEqual(['.gitignore', 'readme.md', 'vendor/lib/x.py']);
  });

  it('selects exactly the files git would (property, against the real git)', async () => {
    await assertGitAvailable();
    const dirNames = ['a', 'b', 'build', 'sub'];
    const fileNames = ['x', 'keep.o', 'y.o', 'n.txt', 'a.txt', 'important.log', 'z.log', 'c'];
    const patterns = [
      '*.o',
      '!keep.o',
      'build/',
      '!build/',
      'build',
      '/build/',
      'a/',
      '!a/',
      'b/*.txt',
      '**/c',
      '*.log',
      '!important.log',
      'a/**/x',
      'x',
      '!x',
      'sub/',
      '/a/b',
      '?.txt',
      '[ab].txt',
      '!*.txt',
      'sub/**',
      '*',
      '!*/',
      '#x',
      '\\!x',
      'a/b/',
      '!sub/x',
    ];
    const pathArb = fc
      .tuple(
        fc.array(fc.constantFrom(...dirNames), { maxLength: 3 }),
        fc.constantFrom(...fileNames),
      )
      .map(([parts, file]) => [...parts, file].join('/'));
    const ignoreArb = fc.tuple(
      fc.array(fc.constantFrom(...dirNames), { maxLength: 2 }).map((parts) => parts.join('/')),
      fc.array(fc.constantFrom(...patterns), { minLength: 1, maxLength: 5 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(pathArb, { minLength: 1, maxLength: 25 }),
        fc.array(ignoreArb, { minLength: 1, maxLength: 4 }),
        async (files, ignores) => {
          const dir = await dirs.make();
          const tree: Record<string, TreeNode> = Object.fromEntries(
            files.map((path) => [path, path]),
          );
          for (const [base, lines] of ignores) {
            tree[base === '' ? '.gitignore' : `${base}/.gitignore`] = `${lines.join('\n')}\n`;
          }
          await writeTree(dir, tree);
          expect(await paths(dir)).toEqual(await gitSelection(dir));
          await dirs.cleanup();
        },
      ),
      { numRuns: 80 },
    );
  }, 120_000);
});

describe('listSnapshotFiles: symlinks', () => {
  it('stores a link to a file inside the tree as that file, under the link path', async () => {
    const dir = await dirs.make();
    await writeTree(dir, {
      'shared/config.json': '{"a":1}',
      'app/config.json': { symlink: '../shared/config.json' },
      'linked-dir': { symlink: 'shared' },
    });
    const entries = await listSnapshotFiles(dir);
    expect(entries.map((e) => [e.path, e.size])).toEqual([
      ['app/config.json', 7],
      ['linked-dir/config.json', 7],
      ['shared/config.json', 7],
    ]);
    expect(new Set(entries.map((e) => e.sourcePath)).size).toBe(1);
  });

  it('refuses a link leaving the tree, naming the link and its target', async () => {
    const outside = await dirs.make();
    const dir = await dirs.make();
    await writeTree(outside, { 'secret.txt': 'no' });
    await writeTree(dir, {
      'score.py': '',
      'data/secret.txt': { symlink: join(outside, 'secret.txt') },
    });
    const listing = listSnapshotFiles(dir);
    await expect(listing).rejects.toThrow(SnapshotError);
    await expect(listSnapshotFiles(dir)).rejects.toThrow(
      `symlink data/secret.txt -> ${join(outside, 'secret.txt')} leads outside ${dir}`,
    );
  });

  it('accepts a link leaving the tree when the ignore files exclude it', async () => {
    const dir = await dirs.make();
    await writeTree(dir, {
      '.amlignore': '.venv/\n',
      'score.py': '',
      '.venv/bin/python': { symlink: '/usr/bin/python3' },
    });
    expect(await paths(dir)).toEqual(['.amlignore', 'score.py']);
  });

  it('refuses broken links and link cycles', async () => {
    const broken = await dirs.make();
    await writeTree(broken, { 'gone.txt': { symlink: 'missing.txt' } });
    await expect(listSnapshotFiles(broken)).rejects.toThrow(
      'symlink gone.txt -> missing.txt is broken',
    );

    const cyclic = await dirs.make();
    await mkdir(join(cyclic, 'a'));
    await symlink('..', join(cyclic, 'a', 'up'));
    await expect(listSnapshotFiles(cyclic)).rejects.toThrow('symlink a/up -> .. forms a cycle');
  });

  it('leaves out FIFOs and sockets instead of blocking on them', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'score.py': '' });
    await execFileAsync('mkfifo', [join(dir, 'pipe')]);
    expect(await paths(dir)).toEqual(['score.py']);
  });

  it('refuses a path that is not a directory', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'file.txt': '' });
    await expect(listSnapshotFiles(join(dir, 'file.txt'))).rejects.toThrow(/not a directory/);
    await expect(listSnapshotFiles(join(dir, 'missing'))).rejects.toThrow(/no such directory/);
  });
});

// What `git add .` would take: untracked files that the ignore rules keep, in a fresh repository
// with no global or system configuration.
async function gitSelection(dir: string): Promise<string[]> {
  const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
  await execFileAsync('git', ['init', '-q', dir], { env });
  const { stdout } = await execFileAsync(
    'git',
    ['-C', dir, 'ls-files', '-z', '--others', '--exclude-standard'],
    {
      env,
    },
  );
  return stdout
    .split('\0')
    .filter((path) => path !== '')
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

async function assertGitAvailable(): Promise<void> {
  try {
    await execFileAsync('git', ['--version']);
  } catch (error) {
    throw new Error(
      'this test compares with the real git: install git (apt-get install git) and rerun',
      {
        cause: error,
      },
    );
  }
}
