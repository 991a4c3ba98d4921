import { createWriteStream } from 'node:fs';
import { chmod, mkdir, realpath } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { open, type Entry, type ZipFile } from 'yauzl';
import { SnapshotError } from './errors.js';

/** What `extractSnapshot` wrote. */
export interface ExtractResult {
  /** Number of files written. */
  readonly files: number;
  /** Total bytes written. */
  readonly bytes: number;
}

const UTF8_FLAG = 0x800;
const FILE_TYPE_MASK = 0o170000;
const SYMLINK_TYPE = 0o120000;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Unpacks a snapshot zip into `destDir` (created when missing). Refuses, before writing it,
 * any entry whose path is absolute, has a drive letter, a backslash, a NUL, or a `.`, `..` or
 * empty segment (zip-slip), any symlink entry, any name that is not valid UTF-8, and any entry
 * that would overwrite an existing file. Files get mode 0755 when the zip marks them
 * executable, else 0644. Entries are streamed; nothing is held in memory.
 *
 * @throws SnapshotError naming the offending entry; `cause` carries yauzl's or the file
 *   system's error.
 */
export async function extractSnapshot(zipPath: string, destDir: string): Promise<ExtractResult> {
  await mkdir(destDir, { recursive: true });
  const root = await realpath(destDir);
  let zip: ZipFile;
  try {
    // Names are decoded and checked here rather than by yauzl, so that every refusal goes
    // through one rule set with one kind of message.
    zip = await openZip(zipPath);
  } catch (error) {
    throw new SnapshotError(`cannot open ${zipPath} as a zip: ${messageOf(error)}`, {
      cause: error,
    });
  }
  let files = 0;
  let bytes = 0;
  try {
    for await (const entry of entries(zip)) {
      const name = entryName(entry);
      const segments = checkedSegments(name, entry);
      if (name.endsWith('/')) {
        await mkdir(join(root, ...segments), { recursive: true });
        continue;
      }
      const target = join(root, ...segments);
      if (!target.startsWith(root + sep))
        refuse(name, 'it would be written outside the destination');
      await mkdir(dirname(target), { recursive: true });
      const executable = ((entry.externalFileAttributes >>> 16) & 0o111) !== 0;
      const content = await zip.openReadStreamPromise(entry);
      // 'wx': never overwrite, and never write through a link planted at the target path.
      await pipeline(content, createWriteStream(target, { flags: 'wx' }));
      await chmod(target, executable ? 0o755 : 0o644);
      files += 1;
      bytes += entry.uncompressedSize;
    }
  } catch (error) {
    if (error instanceof SnapshotError) throw error;
    throw new SnapshotError(`cannot extract ${zipPath}: ${messageOf(error)}`, { cause: error });
  } finally {
    zip.close();
  }
  return { files, bytes };
}

function openZip(zipPath: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    open(zipPath, { lazyEntries: true, autoClose: false, decodeStrings: false }, (error, zip) =>
      error ? reject(error) : resolve(zip),
    );
  });
}

async function* entries(zip: ZipFile): AsyncGenerator<Entry> {
  for (;;) {
    const next = await new Promise<Entry | undefined>((resolve, reject) => {
      const cleanup = () => {
        zip.off('entry', onEntry);
        zip.off('end', onEnd);
        zip.off('error', onError);
      };
      const onEntry = (entry: Entry) => (cleanup(), resolve(entry));
      const onEnd = () => (cleanup(), resolve(undefined));
      const onError = (error: unknown) => (cleanup(), reject(error));
      zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
      zip.readEntry();
    });
    if (next === undefined) return;
    yield next;
  }
}

// With decodeStrings off yauzl hands over the raw bytes. skiff writes UTF-8 names with the
// UTF-8 flag; a name without the flag is accepted only when it is plain ASCII, where CP437 and
// UTF-8 agree.
function entryName(entry: Entry): string {
  const raw = entry.fileNameRaw;
  const ascii = raw.every((byte) => byte < 0x80);
  if ((entry.generalPurposeBitFlag & UTF8_FLAG) === 0 && !ascii) {
    refuse(raw.toString('latin1'), 'the name is not marked UTF-8 and is not ASCII');
  }
  try {
    return strictUtf8.decode(raw);
  } catch {
    return refuse(raw.toString('latin1'), 'the name is not valid UTF-8');
  }
}

function checkedSegments(name: string, entry: Entry): string[] {
  if (name === '') refuse(name, 'the name is empty');
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) refuse(name, 'the path is absolute');
  if (name.includes('\\')) refuse(name, 'the path contains a backslash');
  if (name.includes('\0')) refuse(name, 'the path contains a NUL character');
  const segments = (name.endsWith('/') ? name.slice(0, -1) : name).split('/');
  for (const segment of segments) {
    if (segment === '..') refuse(name, 'the path climbs out with ".."');
    if (segment === '' || segment === '.') refuse(name, 'the path has an empty or "." segment');
  }
  if (((entry.externalFileAttributes >>> 16) & FILE_TYPE_MASK) === SYMLINK_TYPE) {
    refuse(name, 'it is a symbolic link');
  }
  return segments;
}

function refuse(name: string, reason: string): never {
  throw new SnapshotError(`refusing zip entry ${JSON.stringify(name)}: ${reason}`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
