import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelDigestBuilder, ModelTreeError } from './model-digest-builder.js';
import { modelDigest } from './model-digest.js';
import { temporaryDirectories, writeTree } from './test-support/tree.js';

const dirs = temporaryDirectories();
afterEach(() => dirs.cleanup());

const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Feeds `files` to a builder in path order, each content cut at `cuts` (fractions). */
function build(files: Record<string, Buffer>, cuts: readonly number[] = []): string {
  const builder = new ModelDigestBuilder();
  for (const path of Object.keys(files).sort(byUtf8)) {
    const content = files[path]!;
    builder.addFile(path, content.length);
    const offsets = [...new Set(cuts.map((f) => Math.floor(f * content.length)))].sort(
      (a, b) => a - b,
    );
    let start = 0;
    for (const end of [...offsets, content.length]) {
      builder.update(content.subarray(start, end));
      start = end;
    }
  }
  return builder.digest();
}

// Segments chosen so that UTF-16 order and UTF-8 byte order disagree ('\uff21' vs an astral
// character), and so that '-' (0x2d) sorts between a name and that name's directory ('/').
const segment = fc.constantFrom('a', 'a-b', 'b', 'model.pkl', '\uff21', '\u{1f600}', 'é', 'Z');
const tree = fc
  .dictionary(
    fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/')),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    { minKeys: 1, maxKeys: 8 },
  )
  // A name cannot be a file and a directory at once.
  .filter((files) =>
    Object.keys(files).every((path) => !Object.keys(files).some((o) => o.startsWith(`${path}/`))),
  );

describe('ModelDigestBuilder', () => {
  it('gives the digest modelDigest gives for the same tree on disk, however content is chunked (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        tree,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
        async (files, cuts) => {
          const dir = await dirs.make();
          await writeTree(dir, files);
          expect(build(files, cuts)).toBe(await modelDigest(dir));
          await dirs.cleanup();
        },
      ),
      { numRuns: 80 },
    );
  });

  it('gives a single file the digest modelDigest gives that file', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'model.onnx': 'onnx bytes' });
    expect(build({ 'model.onnx': Buffer.from('onnx bytes') })).toBe(
      await modelDigest(`${dir}/model.onnx`),
    );
  });

  it('refuses files in UTF-16 order where UTF-8 byte order differs', () => {
    const builder = new ModelDigestBuilder();
    // JavaScript's default sort puts the astral character first; its UTF-8 bytes sort last.
    const [first, second] = ['\uff21', '\u{1f600}'].sort();
    builder.addFile(first!, 0);
    expect(() => builder.addFile(second!, 0)).toThrow(/out of order/);
    const right = new ModelDigestBuilder().addFile('\uff21', 0).addFile('\u{1f600}', 0);
    expect(right.fileCount).toBe(2);
  });

  it('refuses a repeated path, an empty path and a bad size', () => {
    const builder = new ModelDigestBuilder().addFile('a', 0);
    expect(() => builder.addFile('a', 0)).toThrow(/appears twice/);
    expect(() => new ModelDigestBuilder().addFile('', 0)).toThrow(ModelTreeError);
    expect(() => new ModelDigestBuilder().addFile('a', -1)).toThrow(/non-negative integer/);
    expect(() => new ModelDigestBuilder().addFile('a', 1.5)).toThrow(/non-negative integer/);
  });

  it('refuses content longer than declared, before hashing it', () => {
    const builder = new ModelDigestBuilder().addFile('a', 3);
    builder.update(Buffer.from('ab'));
    expect(() => builder.update(Buffer.from('cd'))).toThrow(/more content than its declared size/);
    expect(builder.remaining).toBe(1);
    builder.update(Buffer.from('c'));
    expect(builder.digest()).toBe(build({ a: Buffer.from('abc') }));
  });

  it('refuses content shorter than declared, at the next file and at digest()', () => {
    const short = new ModelDigestBuilder().addFile('a', 3).update(Buffer.from('ab'));
    expect(() => short.addFile('b', 0)).toThrow(/1 bytes short/);
    expect(() => short.digest()).toThrow(/1 bytes short/);
  });

  it('refuses content before any file and use after digest()', () => {
    expect(() => new ModelDigestBuilder().update(Buffer.alloc(0))).toThrow(/before any file/);
    const done = new ModelDigestBuilder().addFile('a', 0);
    const digest = done.digest();
    expect(done.digest()).toBe(digest);
    expect(() => done.addFile('b', 0)).toThrow(/called already/);
    expect(() => done.update(Buffer.alloc(0))).toThrow(/called already/);
  });

  it('counts files and bytes', () => {
    const builder = new ModelDigestBuilder()
      .addFile('a', 2)
      .update(Buffer.from('xy'))
      .addFile('b', 1)
      .update(Buffer.from('z'));
    expect([builder.fileCount, builder.bytes, builder.remaining]).toEqual([2, 3, 0]);
  });
});
