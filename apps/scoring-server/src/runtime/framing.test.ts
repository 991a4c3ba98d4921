import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, writeFrame } from './framing.js';

/** A stream that records each call that would become one write(2)/writev(2) on a pipe. */
class RecordingPipe extends Writable {
  readonly calls: Buffer[][] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.calls.push([chunk]);
    callback();
  }
  override _writev(chunks: { chunk: Buffer }[], callback: () => void): void {
    this.calls.push(chunks.map(({ chunk }) => chunk));
    callback();
  }
}

const header = fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean()));
const body = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));

describe('frames', () => {
  it('come out whole and in order however the byte stream is split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(header, body), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(frames.flatMap(([h, b]) => encodeFrame(h, b)));
          const decoder = new FrameDecoder();
          const out = [];
          for (let at = 0, i = 0; at < bytes.length; i++) {
            const size = cuts[i % cuts.length]!;
            out.push(...decoder.push(bytes.subarray(at, at + size)));
            at += size;
          }
          expect(out.map((f) => [f.header, Buffer.from(f.body)])).toEqual(frames);
        },
      ),
    );
  });

  it('go to the pipe in one write, so the reader wakes once per frame', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 100_000 }), (h, bytes) => {
        const pipe = new RecordingPipe();
        const body = Buffer.from(bytes);
        writeFrame(pipe, h, body);
        expect(pipe.calls).toHaveLength(1);
        expect(Buffer.concat(pipe.calls[0]!)).toEqual(Buffer.concat(encodeFrame(h, body)));
      }),
      { numRuns: 50 },
    );
  });

  it('carry a body given in parts (a form and its files) as one body, in one write', () => {
    fc.assert(
      fc.property(
        header,
        fc.array(fc.uint8Array({ maxLength: 30_000 }), { maxLength: 4 }),
        (h, parts) => {
          const pipe = new RecordingPipe();
          const buffers = parts.map((part) => Buffer.from(part));
          writeFrame(pipe, h, buffers);
          expect(pipe.calls).toHaveLength(1);
          const frames = new FrameDecoder().push(Buffer.concat(pipe.calls[0]!));
          expect(frames.map((f) => [f.header, Buffer.from(f.body)])).toEqual([
            [h, Buffer.concat(buffers)],
          ]);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('rejects a header that is not a JSON object', () => {
    const json = Buffer.from('[1]');
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(json.length, 0);
    expect(() => new FrameDecoder().push(Buffer.concat([prefix, json]))).toThrow(
      'frame header is not a JSON object',
    );
  });
});
