import { createHash } from 'node:crypto';

/** Deterministic pseudo-random bytes (sha256 in counter mode): cheap, incompressible, seeded. */
export function patternBytes(seed: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (let counter = 0; offset < size; counter++) {
    const block = createHash('sha256').update(`${seed}:${counter}`).digest();
    offset += block.copy(out, offset, 0, Math.min(block.length, size - offset));
  }
  return out;
}

/** Yields `bytes` in chunks of `chunkSize` (copies, as a network stream would). */
export async function* chunked(
  bytes: Uint8Array,
  chunkSize = 64 * 1024,
): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += chunkSize) {
    yield Uint8Array.prototype.slice.call(bytes, offset, offset + chunkSize);
    await Promise.resolve();
  }
}

/** `chunks` as a source, in order. */
export async function* fromChunks(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

/** What a {@link generated} source did: how much it produced and whether it was told to stop. */
export interface SourceProbe {
  produced: number;
  stopped: boolean;
}

/**
 * `total` bytes (or endless when undefined) of fresh 64 KiB chunks, generated on the fly so the
 * test itself never holds the artifact; `probe` records progress and early stops.
 */
export async function* generated(
  total: number | undefined,
  probe: SourceProbe = { produced: 0, stopped: false },
  chunkSize = 64 * 1024,
  onChunk?: () => void,
): AsyncGenerator<Uint8Array> {
  let finished = false;
  try {
    while (total === undefined || probe.produced < total) {
      const size = total === undefined ? chunkSize : Math.min(chunkSize, total - probe.produced);
      const chunk = Buffer.allocUnsafe(size);
      chunk.fill(probe.produced % 251);
      if (size >= 4) chunk.writeUInt32BE(probe.produced >>> 0, 0);
      probe.produced += size;
      onChunk?.();
      yield chunk;
    }
    finished = true;
  } finally {
    if (!finished) probe.stopped = true;
  }
}

/** The sha256 digest of what {@link generated} yields for `total` bytes, computed streaming. */
export async function generatedDigest(total: number, chunkSize = 64 * 1024): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of generated(total, undefined, chunkSize)) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

/** Reads a stream to one Buffer (tests only, small artifacts). */
export async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}
