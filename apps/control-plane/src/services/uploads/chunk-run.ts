import type { MessageCursor } from './message-cursor.js';

/** How {@link chunkRun} recognises and limits the chunks of one run. */
export interface ChunkRunOptions<T> {
  /** The bytes a message carries when it is a chunk; undefined for any other message. */
  chunkOf(message: T): Uint8Array | undefined;
  /** Most bytes the run may carry. */
  maxBytes: number;
  /** The error thrown, before the excess chunk is yielded, when the run carries more. */
  tooLong(received: number): Error;
  /** Sees each chunk before it is yielded (e.g. to feed a digest). */
  onChunk?(chunk: Uint8Array): void;
}

/**
 * The run of chunk messages at `cursor` as a byte stream, e.g. for `ArtifactStore.put`:
 * yields each chunk's bytes until the first message that is not a chunk (pushed back onto the
 * cursor for the caller) or the end of the request stream. Pull-based: a message is read only
 * when the consumer asks for more bytes, so at most one message is held in memory here and a
 * slow store slows the client down instead of filling the server's memory.
 */
export async function* chunkRun<T>(
  cursor: MessageCursor<T>,
  options: ChunkRunOptions<T>,
): AsyncGenerator<Uint8Array, void, undefined> {
  let received = 0;
  for (;;) {
    const message = await cursor.next();
    if (message === undefined) return;
    const chunk = options.chunkOf(message);
    if (chunk === undefined) {
      cursor.pushBack(message);
      return;
    }
    received += chunk.byteLength;
    if (received > options.maxBytes) throw options.tooLong(received);
    options.onChunk?.(chunk);
    yield chunk;
  }
}
