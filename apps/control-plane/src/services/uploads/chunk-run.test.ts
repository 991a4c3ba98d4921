import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FilesystemArtifactStore, sha256Digest } from '@skiff/artifacts';
import { afterEach, describe, expect, it } from 'vitest';
import { chunkRun, type ChunkRunOptions } from './chunk-run.js';
import { MessageCursor } from './message-cursor.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

type Message = { file: string } | { chunk: Buffer };

const chunk = (text: string): Message => ({ chunk: Buffer.from(text) });
const options = (overrides: Partial<ChunkRunOptions<Message>> = {}): ChunkRunOptions<Message> => ({
  chunkOf: (m) => ('chunk' in m ? m.chunk : undefined),
  maxBytes: 1_000,
  tooLong: (received) => new Error(`too long: ${received}`),
  ...overrides,
});

/** A source that records how many messages were pulled and whether it was told to stop. */
function countingSource(messages: Message[]) {
  const state = { pulled: 0, returned: false };
  const iterable: AsyncIterable<Message> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        const value = messages[state.pulled];
        if (value === undefined) return Promise.resolve({ done: true, value: undefined });
        state.pulled += 1;
        return Promise.resolve({ done: false, value });
      },
      return: () => {
        state.returned = true;
        return Promise.resolve({ done: true, value: undefined });
      },
    }),
  };
  return { iterable, state };
}

async function text(run: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const part of run) parts.push(part);
  return Buffer.concat(parts).toString();
}

describe('chunkRun over a MessageCursor', () => {
  it('cuts one stream into one byte stream per file, leaving each file message for the caller', async () => {
    const cursor = new MessageCursor(
      countingSource([
        { file: 'a' },
        chunk('he'),
        chunk('llo'),
        { file: 'b' },
        { file: 'c' },
        chunk('!'),
      ]).iterable,
    );
    const files: Record<string, string> = {};
    for (let m = await cursor.next(); m !== undefined; m = await cursor.next()) {
      if (!('file' in m)) throw new Error('a chunk outside a file');
      files[m.file] = await text(chunkRun(cursor, options()));
    }
    expect(files).toEqual({ a: 'hello', b: '', c: '!' });
  });

  it('pulls one message at a time, only when the consumer asks', async () => {
    const { iterable, state } = countingSource([chunk('1'), chunk('2'), chunk('3')]);
    const run = chunkRun(new MessageCursor(iterable), options());
    expect(state.pulled).toBe(0);
    await run.next();
    expect(state.pulled).toBe(1);
    await run.next();
    expect(state.pulled).toBe(2);
  });

  it('throws the caller’s error before yielding a chunk past maxBytes, and shows each chunk to onChunk', async () => {
    const seen: string[] = [];
    const run = chunkRun(
      new MessageCursor(countingSource([chunk('abc'), chunk('de')]).iterable),
      options({ maxBytes: 4, onChunk: (c) => seen.push(Buffer.from(c).toString()) }),
    );
    const yielded: string[] = [];
    await expect(
      (async () => {
        for await (const c of run) yielded.push(Buffer.from(c).toString());
      })(),
    ).rejects.toThrow('too long: 5');
    expect(yielded).toEqual(['abc']);
    expect(seen).toEqual(['abc']);
  });

  it('passes a source error on to the consumer', async () => {
    async function* failing(): AsyncGenerator<Message> {
      yield chunk('x');
      throw new Error('premature close');
    }
    const cursor = new MessageCursor(failing());
    await expect(text(chunkRun(cursor, options()))).rejects.toThrow('premature close');
    expect(await cursor.next()).toBeUndefined();
  });

  it('feeds ArtifactStore.put without buffering a file, which stores exactly that file', async () => {
    const root = await mkdtemp(join(tmpdir(), 'skiff-chunk-run-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const store = await FilesystemArtifactStore.open({ root });
    const cursor = new MessageCursor(
      Readable.from([{ file: 'a' }, chunk('first '), chunk('file'), { file: 'b' }, chunk('2')]),
    );
    await cursor.next();
    const put = await store.put(chunkRun(cursor, options()));
    expect(put).toMatchObject({ digest: sha256Digest('first file'), size: 10 });
    expect(await cursor.next()).toEqual({ file: 'b' });
    await store.close();
  });
});

describe('MessageCursor', () => {
  it('gives a pushed-back message again, one at a time', async () => {
    const cursor = new MessageCursor(countingSource([chunk('1'), chunk('2')]).iterable);
    const first = await cursor.next();
    cursor.pushBack(first!);
    expect(() => cursor.pushBack(first!)).toThrow(/only one/);
    expect(await cursor.next()).toBe(first);
    expect(await cursor.next()).toEqual(chunk('2'));
    expect(await cursor.next()).toBeUndefined();
  });

  it('refuses two reads at once', async () => {
    let release: () => void = () => undefined;
    const stalled: AsyncIterable<Message> = {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          new Promise((resolve) => {
            release = () => resolve({ done: true, value: undefined });
          }),
      }),
    };
    const cursor = new MessageCursor(stalled);
    const pending = cursor.next();
    await expect(cursor.next()).rejects.toThrow(/pending/);
    release();
    expect(await pending).toBeUndefined();
  });

  it('close() tells an unfinished source to stop, and a finished one nothing', async () => {
    const open = countingSource([chunk('1'), chunk('2')]);
    const cursor = new MessageCursor(open.iterable);
    await cursor.next();
    cursor.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(open.state.returned).toBe(true);
    expect(await cursor.next()).toBeUndefined();

    const done = countingSource([chunk('1')]);
    const finished = new MessageCursor(done.iterable);
    while ((await finished.next()) !== undefined);
    finished.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(done.state.returned).toBe(false);
  });

  it('close() on a Node stream destroys it, so a gRPC call stops reading', async () => {
    const stream = Readable.from([chunk('1'), chunk('2'), chunk('3')]);
    const cursor = new MessageCursor<Message>(stream);
    await cursor.next();
    cursor.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.destroyed).toBe(true);
  });
});
