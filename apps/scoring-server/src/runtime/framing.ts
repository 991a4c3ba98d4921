// The pipe protocol between the server and a Python worker. One frame is
//   uint32be headerLength | uint32be bodyLength | header (UTF-8 JSON) | body (raw bytes)
// Bodies travel as bytes, not inside the JSON, so a 100 MB request is neither escaped nor
// copied into a string on its way to the script.

import type { Writable } from 'node:stream';

/** One decoded frame. */
export interface Frame {
  readonly header: Record<string, unknown>;
  readonly body: Buffer;
}

const PREFIX = 8;

/**
 * A frame's body: one buffer, or several sent back to back (a form's raw body and then its
 * files' bytes) so that none has to be copied into one buffer first.
 */
export type FrameBody = Buffer | readonly Buffer[];

/** The bytes of one frame, as a list to write in order (avoids copying a large body). */
export function encodeFrame(header: object, body: FrameBody = []): Buffer[] {
  const parts = Buffer.isBuffer(body) ? [body] : body;
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.allocUnsafe(PREFIX);
  prefix.writeUInt32BE(json.length, 0);
  prefix.writeUInt32BE(lengthOf(parts), 4);
  return [prefix, json, ...parts.filter((part) => part.length > 0)];
}

function lengthOf(parts: readonly Buffer[]): number {
  return parts.reduce((total, part) => total + part.length, 0);
}

/** Bodies up to this size are copied into one buffer with the header; larger ones are not. */
const COPY_LIMIT = 16 * 1024;

/**
 * Writes one frame to `stream` as a single write: one buffer for a small frame, else one
 * writev of its parts (cork/uncork). Separate writes would let the reader wake up for the
 * first 8 bytes alone and read again for the rest, on every request.
 */
export function writeFrame(stream: Writable, header: object, body: FrameBody = []): void {
  const parts = encodeFrame(header, body);
  if (lengthOf(Buffer.isBuffer(body) ? [body] : body) <= COPY_LIMIT) {
    stream.write(Buffer.concat(parts));
    return;
  }
  stream.cork();
  for (const part of parts) stream.write(part);
  stream.uncork();
}

/** Reassembles frames from arbitrarily split chunks of a byte stream. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds a chunk; returns every frame it completes, in order. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < PREFIX) return frames;
      const prefix = this.peek(PREFIX);
      const headerLength = prefix.readUInt32BE(0);
      const bodyLength = prefix.readUInt32BE(4);
      const total = PREFIX + headerLength + bodyLength;
      if (this.buffered < total) return frames;
      const bytes = this.take(total);
      const header: unknown = JSON.parse(
        bytes.subarray(PREFIX, PREFIX + headerLength).toString('utf8'),
      );
      if (typeof header !== 'object' || header === null || Array.isArray(header)) {
        throw new Error('frame header is not a JSON object');
      }
      frames.push({
        header: header as Record<string, unknown>,
        body: bytes.subarray(PREFIX + headerLength, total),
      });
    }
  }

  private peek(length: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= length) return first.subarray(0, length);
    return this.merged().subarray(0, length);
  }

  private take(length: number): Buffer {
    const all = this.merged();
    const rest = all.subarray(length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, length);
  }

  /** Every buffered chunk as one buffer (kept, so later calls do not copy again). */
  private merged(): Buffer {
    const all =
      this.chunks.length === 1 && this.chunks[0] ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [all];
    return all;
  }
}
