import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZipFile } from 'yazl';
import { SnapshotError } from './errors.js';
import { extractSnapshot } from './extract.js';
import { temporaryDirectories } from './test-support/tree.js';

const dirs = temporaryDirectories();
afterEach(() => dirs.cleanup());

interface ZipItem {
  readonly name: string;
  readonly content?: string;
  readonly mode?: number;
}

// yazl refuses to write unsafe names, so each item is written under a harmless name of the
// same length and the bytes are patched afterwards (the CRC does not cover names).
async function craftZip(items: readonly ZipItem[]): Promise<Buffer> {
  const zip = new ZipFile();
  const patches: [Buffer, Buffer][] = [];
  items.forEach((item, index) => {
    const unsafe = Buffer.from(item.name, 'utf8');
    const safe = Buffer.from(`${index}`.padStart(unsafe.length, 'z').slice(-unsafe.length), 'utf8');
    patches.push([safe, unsafe]);
    zip.addBuffer(Buffer.from(item.content ?? 'payload'), safe.toString(), {
      mode: item.mode ?? 0o100644,
      mtime: new Date(1980, 0, 1),
      forceDosTimestamp: true,
    });
  });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  let bytes: Buffer = Buffer.concat(chunks);
  for (const [safe, unsafe] of patches) bytes = replaceAll(bytes, safe, unsafe);
  return bytes;
}

function replaceAll(bytes: Buffer, from: Buffer, to: Buffer): Buffer {
  const out = Buffer.from(bytes);
  for (let at = out.indexOf(from); at !== -1; at = out.indexOf(from, at + to.length))
    to.copy(out, at);
  return out;
}

async function extractCrafted(
  items: readonly ZipItem[],
): Promise<{ run: Promise<unknown>; dest: string; parent: string }> {
  const parent = await dirs.make();
  const zipPath = join(parent, 'crafted.zip');
  await writeFile(zipPath, await craftZip(items));
  const dest = join(parent, 'dest');
  return { run: extractSnapshot(zipPath, dest), dest, parent };
}

describe('extractSnapshot', () => {
  it('extracts regular files and directories, restoring executable bits', async () => {
    const { run, dest } = await extractCrafted([
      { name: 'dir/', mode: 0o40755 },
      { name: 'dir/a.txt', content: 'A' },
      { name: 'bin/run.sh', content: '#!/bin/sh\n', mode: 0o100755 },
    ]);
    expect(await run).toEqual({ files: 2, bytes: 11 });
    expect(await readFile(join(dest, 'dir', 'a.txt'), 'utf8')).toBe('A');
    expect((await stat(join(dest, 'bin', 'run.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(dest, 'dir', 'a.txt'))).mode & 0o777).toBe(0o644);
  });

  it.each([
    ['../evil.txt', 'the path climbs out with ".."'],
    ['a/../../evil.txt', 'the path climbs out with ".."'],
    ['a/./evil.txt', 'the path has an empty or "." segment'],
    ['a//evil.txt', 'the path has an empty or "." segment'],
    ['C:/evil.txt', 'the path is absolute'],
    ['..\\evil.txt', 'the path contains a backslash'],
  ])('refuses the zip-slip entry %s without writing anything outside', async (name, reason) => {
    const { run, parent, dest } = await extractCrafted([{ name: 'fine.txt' }, { name }]);
    await expect(run).rejects.toThrow(SnapshotError);
    await expect(run).rejects.toThrow(`refusing zip entry ${JSON.stringify(name)}: ${reason}`);
    expect((await readdir(parent)).sort()).toEqual(['crafted.zip', 'dest']);
    expect(await readdir(dest)).toEqual(['fine.txt']);
  });

  it('refuses an absolute entry path', async () => {
    const name = join(tmpdir(), `skiff-evil-${randomUUID()}.txt`);
    const { run } = await extractCrafted([{ name }]);
    await expect(run).rejects.toThrow(
      `refusing zip entry ${JSON.stringify(name)}: the path is absolute`,
    );
    expect(existsSync(name)).toBe(false);
  });

  it('refuses symlink entries', async () => {
    const { run, dest } = await extractCrafted([
      { name: 'link', content: '/etc/passwd', mode: 0o120777 },
    ]);
    await expect(run).rejects.toThrow('refusing zip entry "link": it is a symbolic link');
    expect(await readdir(dest)).toEqual([]);
  });

  it('never overwrites an existing file', async () => {
    const { run, dest } = await extractCrafted([
      { name: 'a.txt', content: 'first' },
      { name: 'a.txt', content: 'again' },
    ]);
    await expect(run).rejects.toThrow(/cannot extract .*EEXIST/);
    expect(await readFile(join(dest, 'a.txt'), 'utf8')).toBe('first');
  });

  it('reports a file that is not a zip', async () => {
    const dir = await dirs.make();
    await writeFile(join(dir, 'not.zip'), 'hello');
    await expect(extractSnapshot(join(dir, 'not.zip'), join(dir, 'out'))).rejects.toThrow(
      /cannot open .*not\.zip as a zip/,
    );
  });
});
