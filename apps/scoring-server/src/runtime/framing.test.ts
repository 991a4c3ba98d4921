import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from './framing.js';

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

  it('rejects a header that is not a JSON object', () => {
    const json = Buffer.from('[1]');
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(json.length, 0);
    expect(() => new FrameDecoder().push(Buffer.concat([prefix, json]))).toThrow(
      'frame header is not a JSON object',
    );
  });
});
