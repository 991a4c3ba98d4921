import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, readFile, readdir, rm, utimes } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { fromBufferPromise, type Entry } from 'yauzl';
import { SnapshotError } from './errors.js';
import { extractSnapshot } from './extract.js';
import { listSnapshotFiles, snapshotDigest, writeSnapshot } from './snapshot.js';
import { temporaryDirectories, writeTree, type TreeNode } from './test-support/tree.js';

const dirs = temporaryDirectories();
const execFileAsync = promisify(execFile);
const SNAPSHOT_MODULE = fileURLToPath(new URL('./snapshot.ts', import.meta.url));
afterEach(() => dirs.cleanup());

const PROJECT: Record<string, TreeNode> = {
  'score.py': 'def init():\n    pass\n\ndef run(raw):\n    return raw\n',
  'run.sh': { content: '#!/bin/sh\nexec python score.py\n', mode: 0o755 },
  'lib/util.py': 'X = 1\n',
  'lib/data/table.csv': 'a,b\n1,2\n',
  'README.md': '# model\n',
};

async function zipBytes(dir: string, compress = true): Promise<{ bytes: Buffer; digest: string }> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const result = await writeSnapshot(dir, sink, { compress });
  const bytes = Buffer.concat(chunks);
  expect(result.size).toBe(bytes.length);
  return { bytes, digest: result.digest };
}

async function zipEntries(bytes: Buffer): Promise<Entry[]> {
  const zip = await fromBufferPromise(bytes, { lazyEntries: true });
  const entries: Entry[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return entries;
}

describe('writeSnapshot', () => {
  it('writes the same bytes for the same files, whatever the creation order and mtimes', async () => {
    const first = await dirs.make();
    const second = await dirs.make();
    await writeTree(first, PROJECT);
    await writeTree(second, Object.fromEntries(Object.entries(PROJECT).reverse()));
    await utimes(
      join(second, 'score.py'),
      new Date('2001-02-03T04:05:06Z'),
      new Date('2001-02-03T04:05:06Z'),
    );
    await chmod(join(second, 'README.md'), 0o664); // group-writable: not an executable bit
    for (const compress of [true, false]) {
      const a = await zipBytes(first, compress);
      const b = await zipBytes(second, compress);
      expect(b.bytes.equals(a.bytes)).toBe(true);
      expect(b.digest).toBe(a.digest);
      expect(a.digest).toBe(`sha256:${createHash('sha256').update(a.bytes).digest('hex')}`);
    }
  });

  it('stores sorted POSIX paths, 1980-01-01 timestamps, 0644/0755 modes and nothing else', async () => {
    const dir = await dirs.make();
    await writeTree(dir, PROJECT);
    const entries = await zipEntries((await zipBytes(dir)).bytes);
    expect(entries.map((e) => e.fileName)).toEqual([
      'README.md',
      'lib/data/table.csv',
      'lib/util.py',
      'run.sh',
      'score.py',
    ]);
    for (const entry of entries) {
      expect(entry.getLastModDate({ timezone: 'UTC' }).toISOString()).toBe(
        '1980-01-01T00:00:00.000Z',
      );
      expect(entry.extraFields).toEqual([]);
      expect(entry.fileComment).toBe('');
      const mode = entry.externalFileAttributes >>> 16;
      expect(mode).toBe(entry.fileName === 'run.sh' ? 0o100755 : 0o100644);
    }
  });

  it('writes the same bytes in every time zone', async () => {
    const dir = await dirs.make();
    await writeTree(dir, PROJECT);
    // A fresh process per zone: the zone is read when the zip library loads, as in real use.
    const digestIn = async (zone: string) => {
      const script = `const m = await import(${JSON.stringify(SNAPSHOT_MODULE)}); process.stdout.write((await m.snapshotDigest(${JSON.stringify(dir)})).digest);`;
      const { stdout } = await execFileAsync(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { cwd: fileURLToPath(new URL('.', import.meta.url)), env: { ...process.env, TZ: zone } },
      );
      return stdout;
    };
    const zones = ['UTC', 'America/Los_Angeles', 'Asia/Kolkata', 'Pacific/Kiritimati'];
    const digests = await Promise.all(zones.map(digestIn));
    expect(digests[0]).toBe((await snapshotDigest(dir)).digest);
    expect(new Set(digests).size).toBe(1);
  });

  it('changes its digest when a file, a name or the executable bit changes', async () => {
    const dir = await dirs.make();
    await writeTree(dir, PROJECT);
    const digests = [(await snapshotDigest(dir)).digest];
    await writeTree(dir, { 'lib/util.py': 'X = 2\n' });
    digests.push((await snapshotDigest(dir)).digest);
    await chmod(join(dir, 'score.py'), 0o755);
    digests.push((await snapshotDigest(dir)).digest);
    await writeTree(dir, { 'lib/new.py': '' });
    digests.push((await snapshotDigest(dir)).digest);
    expect(new Set(digests).size).toBe(digests.length);
  });

  it('streams: with the output stalled, it stops reading after the first file', async () => {
    const dir = await dirs.make();
    const files: Record<string, TreeNode> = {};
    for (let i = 0; i < 8; i++) files[`blob-${i}.bin`] = randomBytes(1 << 20);
    await writeTree(dir, files);

    const started: string[] = [];
    const held: (() => void)[] = [];
    let stalled = true;
    const hash = createHash('sha256');
    const output = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        if (stalled) held.push(callback);
        else callback();
      },
    });
    const done = writeSnapshot(dir, output, { onFile: (entry) => started.push(entry.path) });
    await settle();
    // Every 1 MiB file is incompressible; a stalled consumer must stop the reading of the
    // first one, so at most that one has been opened and nothing is buffered beyond it.
    expect(started).toEqual(['blob-0.bin']);
    stalled = false;
    for (const release of held.splice(0)) release();
    const result = await done;
    expect(started).toHaveLength(8);
    expect(result.digest).toBe(`sha256:${hash.digest('hex')}`);
    expect(result.digest).toBe((await snapshotDigest(dir)).digest);
  });

  it('writes a zip that extractSnapshot restores exactly, executable bits included', async () => {
    const dir = await dirs.make();
    const out = await dirs.make();
    await writeTree(dir, {
      ...PROJECT,
      'big.bin': pseudoRandom(300_000, 7),
      'ünïcode/ファイル.txt': 'ok',
    });
    const zipPath = join(out, 'snapshot.zip');
    const written = await writeSnapshot(dir, createWriteStream(zipPath));
    expect(written.files).toBe(7);
    const dest = join(out, 'unpacked');
    const extracted = await extractSnapshot(zipPath, dest);
    expect(extracted.files).toBe(7);
    for (const entry of await listSnapshotFiles(dir)) {
      const copy = join(dest, ...entry.path.split('/'));
      expect((await readFile(copy)).equals(await readFile(entry.sourcePath))).toBe(true);
    }
    expect((await listSnapshotFiles(dest)).map((e) => [e.path, e.size, e.executable])).toEqual(
      (await listSnapshotFiles(dir)).map((e) => [e.path, e.size, e.executable]),
    );
    expect((await snapshotDigest(dest)).digest).toBe(written.digest);
  });

  it('fails with the file name when a file changes size while it is zipped', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'a.txt': 'short', 'b.txt': 'second' });
    const zipping = writeSnapshot(dir, new Writable({ write: (_c, _e, cb) => cb() }), {
      onFile: (entry) => {
        // Grows b.txt after it was listed, before it is read.
        if (entry.path === 'a.txt') void writeTree(dir, { 'b.txt': 'second, but longer' });
      },
    });
    await expect(zipping).rejects.toThrow(/b\.txt changed while the snapshot was written/);
  });

  it('is an empty zip for an empty directory and fails for a missing one', async () => {
    const dir = await dirs.make();
    const result = await snapshotDigest(dir);
    expect(result.files).toBe(0);
    expect(result.size).toBe(22); // just the end-of-central-directory record
    await rm(dir, { recursive: true });
    await expect(snapshotDigest(dir)).rejects.toThrow(SnapshotError);
    await expect(snapshotDigest(dir)).rejects.toThrow(/no such directory/);
    expect(await readdir(join(dir, '..'))).not.toContain(dir);
  });
});

function pseudoRandom(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let block = Buffer.alloc(0);
  for (let offset = 0, counter = 0; offset < size; offset += block.length, counter++) {
    block = createHash('sha256').update(`${seed}:${counter}`).digest();
    block.copy(out, offset);
  }
  return out;
}

// Lets queued I/O and stream callbacks run until nothing moves for a few turns.
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setTimeout(resolve, 2));
}
