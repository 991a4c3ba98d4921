// Fetches one artifact (snapshot or model) and proves it is the one the deployment named: the
// sha256 of the bytes is computed while they stream to disk and compared before anything is
// unpacked. This stays inside the app until @skiff/hashing/@skiff/artifacts offer it.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

/** The bytes at a URL did not hash to the digest the deployment recorded. */
export class ArtifactDigestError extends Error {
  override readonly name = 'ArtifactDigestError';
  constructor(
    readonly url: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`digest mismatch for ${url}: expected ${expected}, got ${actual}`);
  }
}

/** The artifact could not be read at all. */
export class ArtifactFetchError extends Error {
  override readonly name = 'ArtifactFetchError';
}

/** Reads the bytes behind a URL; tests and other stores may provide their own. */
export type ArtifactReader = (url: string) => Promise<Readable>;

/** file: URLs from disk, http(s): URLs with fetch(). */
export const readArtifact: ArtifactReader = async (url) => {
  if (url.startsWith('file:')) return createReadStream(fileURLToPath(url));
  const response = await fetch(url);
  if (!response.ok || !response.body) {
    throw new ArtifactFetchError(`GET ${url} answered ${response.status}`);
  }
  return Readable.fromWeb(response.body as ReadableStream);
};

/**
 * Streams `url` into `file`, then checks `digest` (`sha256:<hex>` of the bytes) when given;
 * removes `file` on failure.
 */
export async function downloadVerified(
  url: string,
  digest: string | undefined,
  file: string,
  read: ArtifactReader = readArtifact,
): Promise<void> {
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(await read(url), tap, createWriteStream(file));
  } catch (error) {
    await rm(file, { force: true });
    if (error instanceof ArtifactFetchError) throw error;
    throw new ArtifactFetchError(`cannot read ${url}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (digest !== undefined && actual !== digest) {
    await rm(file, { force: true });
    throw new ArtifactDigestError(url, digest, actual);
  }
}
