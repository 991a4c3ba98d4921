import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** Largest `chunk` of an upload message: the API allows at most 1 MiB per message. */
export const UPLOAD_CHUNK_BYTES = 1024 * 1024;

/** One file of a model tree, as it is uploaded. */
export interface ModelTreeFile {
  /** Relative POSIX path inside the model ("weights/w1.bin"); the file name for one file. */
  readonly path: string;
  readonly size: number;
  readonly executable: boolean;
  /** Where the content is read from. */
  readonly source: string;
}

const byUtf8Path = (a: ModelTreeFile, b: ModelTreeFile) =>
  Buffer.compare(Buffer.from(a.path, 'utf8'), Buffer.from(b.path, 'utf8'));

/**
 * The files of a model at `path` (a file, or a directory walked recursively, symlinks
 * followed, nothing ignored), sorted by the UTF-8 bytes of their paths: the order the API
 * expects and `modelDigest` hashes in. Call `modelDigest` first: it rejects the trees this walk
 * does not check for (links leaving the tree, link cycles).
 */
export async function modelTreeFiles(path: string): Promise<ModelTreeFile[]> {
  const root = await stat(path);
  if (!root.isDirectory()) {
    return [
      {
        path: basename(path),
        size: root.size,
        executable: (root.mode & 0o111) !== 0,
        source: await realpath(path),
      },
    ];
  }
  const files: ModelTreeFile[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const full = join(dir, name);
      const relative = prefix === '' ? name : `${prefix}/${name}`;
      const entry = await stat(full);
      if (entry.isDirectory()) await walk(full, relative);
      // Sockets, FIFOs and devices are not model content.
      else if (entry.isFile()) {
        files.push({
          path: relative,
          size: entry.size,
          executable: (entry.mode & 0o111) !== 0,
          source: full,
        });
      }
    }
  };
  await walk(path, '');
  return files.sort(byUtf8Path);
}

/**
 * The content of a file in chunks of at most {@link UPLOAD_CHUNK_BYTES}. Throws when the file
 * does not hold `size` bytes any more, because the upload announced that size.
 */
export async function* fileChunks(source: string, size: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of createReadStream(source, { highWaterMark: UPLOAD_CHUNK_BYTES })) {
    const bytes = chunk as Buffer;
    seen += bytes.length;
    if (seen > size) break;
    yield bytes;
  }
  if (seen !== size) {
    throw new Error(
      `${source} changed while it was uploaded (announced ${size} bytes, read ${seen}); retry when it is stable`,
    );
  }
}

/** The `sha256:<hex>` digest and size of a file's bytes (a snapshot zip's digest). */
export async function fileDigest(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    hash.update(bytes);
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
