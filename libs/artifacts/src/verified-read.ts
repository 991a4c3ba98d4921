import { Readable } from 'node:stream';
import { type ArtifactReadStream } from './artifact-store.js';
import { ArtifactHasher, type ArtifactDigest } from './digest.js';
import { DigestMismatchError } from './errors.js';

/** How a backend turns its own read errors into domain errors. */
export type ReadErrorMapper = (error: unknown) => unknown;

/**
 * Wraps a backend's byte stream: maps its errors through `mapError` and, when `verify` is on,
 * hashes the bytes and ends the stream with `DigestMismatchError` instead of a clean end when
 * they do not hash to `digest` (corruption at rest would otherwise reach a replica silently).
 * Destroying the returned stream destroys `body`.
 */
export function artifactReadStream(
  body: AsyncIterable<Uint8Array | string>,
  digest: ArtifactDigest,
  options: { verify: boolean; mapError: ReadErrorMapper },
): ArtifactReadStream {
  async function* chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    const hasher = new ArtifactHasher();
    try {
      for await (const chunk of body) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (options.verify) hasher.update(bytes);
        yield bytes;
      }
    } catch (error) {
      throw options.mapError(error);
    }
    if (options.verify && hasher.digest() !== digest) {
      throw new DigestMismatchError(digest, hasher.digest());
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
