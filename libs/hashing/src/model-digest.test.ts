import { createHash } from 'node:crypto';
import { chmod, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotError } from './errors.js';
import { modelDigest } from './model-digest.js';
import { temporaryDirectories, writeTree } from './test-support/tree.js';

const dirs = temporaryDirectories();
afterEach(() => dirs.cleanup());

// The documented layout, built independently of the implementation.
function expectedDigest(files: Record<string, string>): string {
  const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  const hash = createHash('sha256').update('skiff-model-digest-v1\n');
  for (const path of Object.keys(files).sort((a, b) =>
    Buffer.compare(Buffer.from(a), Buffer.from(b)),
  )) {
    const name = Buffer.from(path);
    const content = Buffer.from(files[path]!);
    hash.update(Buffer.concat([u64(name.length), name, u64(content.length), content]));
  }
  return `sha256:${hash.digest('hex')}`;
}

describe('modelDigest', () => {
  it('follows the documented layout for a directory', async () => {
    const files = { 'model.pkl': 'weights', 'config/labels.json': '["cat","dog"]', README: '' };
    const dir = await dirs.make();
    await writeTree(dir, files);
    expect(await modelDigest(dir)).toBe(expectedDigest(files));
  });

  it('digests a single file as the tree holding it under its own name', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'single/model.onnx': 'onnx bytes' });
    const file = join(dir, 'single', 'model.onnx');
    expect(await modelDigest(file)).toBe(expectedDigest({ 'model.onnx': 'onnx bytes' }));
    expect(await modelDigest(file)).toBe(await modelDigest(join(dir, 'single')));
  });

  it('ignores mtimes, modes and creation order, and applies no ignore file', async () => {
    const a = await dirs.make();
    const b = await dirs.make();
    await writeTree(a, { '.gitignore': '*.pkl\n', 'm.pkl': 'x', 'sub/n.bin': 'y' });
    await writeTree(b, { 'sub/n.bin': 'y', 'm.pkl': 'x', '.gitignore': '*.pkl\n' });
    await chmod(join(b, 'm.pkl'), 0o755);
    await utimes(join(b, 'sub', 'n.bin'), new Date(0), new Date(0));
    expect(await modelDigest(b)).toBe(await modelDigest(a));
    expect(await modelDigest(a)).toBe(
      expectedDigest({ '.gitignore': '*.pkl\n', 'm.pkl': 'x', 'sub/n.bin': 'y' }),
    );
  });

  it('gives different trees different digests, however their bytes line up (property)', async () => {
    const treeArb = fc.dictionary(
      fc.constantFrom('a', 'ab', 'b', 'd/a', 'd/ab', 'da', 'e/f'),
      fc.constantFrom('', 'b', 'bc', 'c', 'abc'),
      { minKeys: 1, maxKeys: 4 },
    );
    await fc.assert(
      fc.asyncProperty(treeArb, treeArb, async (left, right) => {
        // A name cannot be both a file and a directory.
        fc.pre(
          ![left, right].some(
            (tree) => ('d' in tree && ('d/a' in tree || 'd/ab' in tree)) || 'e' in tree,
          ),
        );
        const [l, r] = [await dirs.make(), await dirs.make()];
        await writeTree(l, left);
        await writeTree(r, right);
        const same =
          JSON.stringify(Object.entries(left).sort()) ===
          JSON.stringify(Object.entries(right).sort());
        expect((await modelDigest(l)) === (await modelDigest(r))).toBe(same);
        await dirs.cleanup();
      }),
      { numRuns: 60 },
    );
  });

  it('distinguishes moving bytes between a name and a content', async () => {
    const a = await dirs.make();
    const b = await dirs.make();
    await writeTree(a, { a: 'bc' });
    await writeTree(b, { ab: 'c' });
    expect(await modelDigest(a)).not.toBe(await modelDigest(b));
  });

  it('refuses a missing path and a link leaving the tree', async () => {
    const dir = await dirs.make();
    await expect(modelDigest(join(dir, 'missing'))).rejects.toThrow(SnapshotError);
    await writeTree(dir, { 'model/weights': { symlink: '/etc/hostname' } });
    await expect(modelDigest(join(dir, 'model'))).rejects.toThrow(
      /symlink weights -> \/etc\/hostname leads outside/,
    );
  });
});
