import { type ArtifactHasher } from './digest.js';
import { ArtifactTooLargeError } from './errors.js';

/** Limits applied while reading an upload. */
export interface IngestLimits {
  readonly maxBytes?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Checks `maxBytes` before any byte is read, so a bad limit fails fast. */
export function assertMaxBytes(maxBytes: number | undefined): void {
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) {
    throw new RangeError(`maxBytes must be a non-negative safe integer, got ${maxBytes}`);
  }
}

/**
 * Yields `source`'s chunks while `hasher` hashes and counts them. Throws
 * `ArtifactTooLargeError` on the chunk that crosses `maxBytes` (before yielding it), and
 * `signal.reason` as soon as the signal aborts, even while the source is stalled. On any early
 * exit the source's iterator is told to stop (`return()`), so a network stream is released.
 */
export async function* meteredChunks(
  source: AsyncIterable<Uint8Array>,
  hasher: ArtifactHasher,
  { maxBytes, signal }: IngestLimits,
): AsyncGenerator<Uint8Array, void, undefined> {
  signal?.throwIfAborted();
  const iterator = source[Symbol.asyncIterator]();
  const abort = signal ? abortPromise(signal) : undefined;
  let finished = false;
  try {
    for (;;) {
      const pending = iterator.next();
      // A source that threw is done already; calling return() on it could hang.
      const settled = pending.then(
        () => undefined,
        () => (finished = true),
      );
      void settled;
      const next = abort ? await Promise.race([pending, abort.promise]) : await pending;
      if (next.done) {
        finished = true;
        return;
      }
      const chunk: unknown = next.value;
      if (!(chunk instanceof Uint8Array)) {
        throw new TypeError(`an artifact source must yield Uint8Array chunks, got ${typeof chunk}`);
      }
      if (maxBytes !== undefined && hasher.size + chunk.byteLength > maxBytes) {
        throw new ArtifactTooLargeError(maxBytes);
      }
      hasher.update(chunk);
      yield chunk;
      signal?.throwIfAborted();
    }
  } finally {
    abort?.dispose();
    if (!finished) {
      // Not awaited: a source stalled in next() would block us until it produced.
      void Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => undefined);
    }
  }
}

function abortPromise(signal: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let onAbort: () => void = () => undefined;
  const promise = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => undefined);
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}
