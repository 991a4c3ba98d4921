import { type Dirent, type Stats } from 'node:fs';
import { readFile, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { SnapshotError } from './errors.js';
import { IgnoreLevel, isExcluded } from './ignore-rules.js';

/** One regular file of a walked tree. */
export interface TreeFile {
  /** Path relative to the tree root, POSIX separators, no leading `./`. */
  readonly path: string;
  /** Size in bytes when the tree was walked. */
  readonly size: number;
  /** Whether any execute bit is set (always false on Windows). */
  readonly executable: boolean;
  /** Absolute path the content is read from: the link target's real path for a symlink. */
  readonly sourcePath: string;
}

/** How `walkTree` selects files. */
export interface WalkOptions {
  /** Apply `.amlignore` (or, in a directory without one, `.gitignore`) files. */
  readonly applyIgnoreFiles: boolean;
  /** Leave out every entry named `.git` (repository metadata, or a worktree's `.git` file). */
  readonly skipGit: boolean;
}

interface Classified {
  readonly name: string;
  readonly kind: 'file' | 'directory' | 'other';
  readonly realPath: string;
  readonly stats?: Stats;
  /** Set for symlinks: what the link says, for error messages. */
  readonly linkText?: string;
  readonly broken?: boolean;
}

/**
 * Walks the directory `root` and returns its regular files sorted by the UTF-8 bytes of their
 * paths. Symlinks are followed when their target lies inside `root` (a linked file is listed
 * under the link's path with the target's content; a linked directory is walked under the
 * link's path); a link leaving `root`, a broken link or a link cycle is an error naming the
 * link. Sockets, FIFOs and devices are left out. Directories appear only through their files.
 *
 * @throws SnapshotError when `root` is not a directory or a symlink breaks the rules above.
 */
export async function walkTree(root: string, options: WalkOptions): Promise<TreeFile[]> {
  const rootReal = await directoryRealPath(root);
  const files: TreeFile[] = [];
  const inside = rootReal.endsWith(sep) ? rootReal : rootReal + sep;
  const context = { root, rootReal, inside, options, files };
  await walkDirectory(context, rootReal, '', [], [rootReal]);
  return sortByPath(files);
}

/** Sorts by the UTF-8 bytes of `path`, an order every language reproduces. */
export function sortByPath<T extends { readonly path: string }>(items: readonly T[]): T[] {
  return items
    .map((item) => ({ item, key: Buffer.from(item.path, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map(({ item }) => item);
}

async function directoryRealPath(root: string): Promise<string> {
  let real: string;
  let stats: Stats;
  try {
    real = await realpath(root);
    stats = await stat(real);
  } catch (error) {
    throw new SnapshotError(`no such directory: ${root}`, { cause: error });
  }
  if (!stats.isDirectory()) throw new SnapshotError(`not a directory: ${root}`);
  return real;
}

interface WalkContext {
  readonly root: string;
  readonly rootReal: string;
  readonly inside: string;
  readonly options: WalkOptions;
  readonly files: TreeFile[];
}

async function walkDirectory(
  context: WalkContext,
  directory: string,
  relative: string,
  parentLevels: readonly IgnoreLevel[],
  ancestors: readonly string[],
): Promise<void> {
  const entries = await unlessUnreadable(directory, readdir(directory, { withFileTypes: true }));
  const levels = context.options.applyIgnoreFiles
    ? await withIgnoreFile(directory, relative, entries, parentLevels)
    : parentLevels;
  const classified = await unlessUnreadable(
    directory,
    Promise.all(
      entries
        .filter((entry) => !(context.options.skipGit && entry.name === '.git'))
        .map((entry) => classify(directory, entry)),
    ),
  );
  classified.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of classified) {
    const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.kind === 'other') continue;
    if (
      context.options.applyIgnoreFiles &&
      isExcluded(levels, entry.kind === 'directory' ? `${path}/` : path)
    ) {
      continue;
    }
    if (entry.linkText !== undefined) checkLink(context, path, entry);
    if (entry.kind === 'directory') {
      if (ancestors.includes(entry.realPath)) {
        throw new SnapshotError(
          `symlink ${path} -> ${entry.linkText ?? ''} forms a cycle (it leads back to a directory that contains it)`,
        );
      }
      await walkDirectory(context, entry.realPath, path, levels, [...ancestors, entry.realPath]);
    } else if (entry.stats) {
      context.files.push({
        path,
        size: entry.stats.size,
        executable: (entry.stats.mode & 0o111) !== 0,
        sourcePath: entry.realPath,
      });
    }
  }
}

// In each directory, `.amlignore` replaces `.gitignore` (Azure ML's rule: when both exist, the
// .amlignore file is used and the .gitignore file is not).
async function withIgnoreFile(
  directory: string,
  relative: string,
  entries: readonly Dirent[],
  levels: readonly IgnoreLevel[],
): Promise<readonly IgnoreLevel[]> {
  const names = new Set(entries.filter((e) => !e.isDirectory()).map((e) => e.name));
  const file = names.has('.amlignore')
    ? '.amlignore'
    : names.has('.gitignore')
      ? '.gitignore'
      : undefined;
  if (file === undefined) return levels;
  const text = await unlessUnreadable(
    join(directory, file),
    readFile(join(directory, file), 'utf8'),
  );
  return [...levels, new IgnoreLevel(relative, text)];
}

async function classify(directory: string, entry: Dirent): Promise<Classified> {
  const path = join(directory, entry.name);
  if (entry.isDirectory()) return { name: entry.name, kind: 'directory', realPath: path };
  if (entry.isFile())
    return { name: entry.name, kind: 'file', realPath: path, stats: await stat(path) };
  if (!entry.isSymbolicLink()) return { name: entry.name, kind: 'other', realPath: path };
  const linkText = await readlink(path);
  try {
    const realPath = await realpath(path);
    const stats = await stat(realPath);
    const kind = stats.isDirectory() ? 'directory' : stats.isFile() ? 'file' : 'other';
    return { name: entry.name, kind, realPath, stats, linkText };
  } catch {
    // A broken link is still subject to the ignore files; it is an error only if kept.
    return { name: entry.name, kind: 'file', realPath: path, linkText, broken: true };
  }
}

// Permission errors and the like become SnapshotErrors naming the path, so callers report
// every tree problem the same way.
async function unlessUnreadable<T>(path: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new SnapshotError(`cannot read ${path}: ${message}`, { cause: error });
  }
}

function checkLink(context: WalkContext, path: string, entry: Classified): void {
  const target = entry.linkText ?? '';
  if (entry.broken) {
    throw new SnapshotError(`symlink ${path} -> ${target} is broken (its target does not exist)`);
  }
  if (entry.realPath !== context.rootReal && !entry.realPath.startsWith(context.inside)) {
    throw new SnapshotError(
      `symlink ${path} -> ${target} leads outside ${context.root} (to ${entry.realPath}); ` +
        'only links that stay inside the directory are followed. Ignore it in .amlignore or replace it with a copy.',
    );
  }
}
