import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A file's content, a file with a mode, or a symlink with its target text. */
export type TreeNode =
  string | Buffer | { content: string | Buffer; mode: number } | { symlink: string };

/** Writes `files` (POSIX relative paths) under `root`, in the order given. */
export async function writeTree(root: string, files: Record<string, TreeNode>): Promise<void> {
  for (const [path, node] of Object.entries(files)) {
    const target = join(root, ...path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    if (typeof node === 'string' || Buffer.isBuffer(node)) {
      await writeFile(target, node);
    } else if ('symlink' in node) {
      await symlink(node.symlink, target);
    } else {
      await writeFile(target, node.content);
      await chmod(target, node.mode);
    }
  }
}

/** Temporary directories removed by `cleanup()`. */
export function temporaryDirectories(): {
  make: () => Promise<string>;
  cleanup: () => Promise<void>;
} {
  const made: string[] = [];
  return {
    make: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'skiff-hashing-'));
      made.push(dir);
      return dir;
    },
    cleanup: async () => {
      await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}
