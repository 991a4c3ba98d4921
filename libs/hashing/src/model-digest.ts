import { createReadStream, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { SnapshotError } from './errors.js';
import { walkTree, type TreeFile } from './file-tree.js';
import { ModelDigestBuilder } from './model-digest-builder.js';
import { type Sha256Digest } from './snapshot.js';

/**
 * The digest of a model's file tree, `sha256:<64 hex>`: sha256 over a header and then, for
 * every file sorted by the UTF-8 bytes of its relative POSIX path, the path's byte length
 * (8 bytes, big-endian), the path, the content's byte length (8 bytes, big-endian) and the
 * content. Length prefixes make the encoding unambiguous: no two trees share a byte stream.
 * Only paths and contents count: not mtimes, modes, owners or empty directories, and no file
 * is ignored. A single file is the tree holding that file under its own name, so a file
 * `model.pkl` and a directory whose only file is `model.pkl` have the same digest (they unpack
 * to the same model directory). Symlinks inside the tree are followed; a link leaving it is an
 * error, as for snapshots. Files are streamed, never held in memory.
 *
 * @throws SnapshotError when `path` does not exist, a symlink leaves the tree, is broken or
 *   forms a cycle, or a file changes size while it is read.
 */
export async function modelDigest(path: string): Promise<Sha256Digest> {
  let stats: Stats;
  try {
    stats = await stat(path);
  } catch (error) {
    throw new SnapshotError(`no such model file or directory: ${path}`, { cause: error });
  }
  if (!stats.isDirectory() && !stats.isFile()) {
    throw new SnapshotError(`a model must be a regular file or a directory: ${path}`);
  }
  const files: TreeFile[] = stats.isDirectory()
    ? await walkTree(path, { applyIgnoreFiles: false, skipGit: false })
    : [
        {
          path: basename(path),
          size: stats.size,
          executable: false,
          sourcePath: await realpath(path),
        },
      ];
  const builder = new ModelDigestBuilder();
  for (const file of files) {
    builder.addFile(file.path, file.size);
    await hashContent(builder, file);
  }
  return builder.digest();
}

async function hashContent(builder: ModelDigestBuilder, file: TreeFile): Promise<void> {
  let seen = 0;
  for await (const chunk of createReadStream(file.sourcePath)) {
    const bytes = chunk as Buffer;
    seen += bytes.length;
    if (seen > file.size) break;
    builder.update(bytes);
  }
  if (seen !== file.size) {
    throw new SnapshotError(
      `${file.path} changed while the model digest was computed (listed with ${file.size} bytes); retry when it is stable`,
    );
  }
}
