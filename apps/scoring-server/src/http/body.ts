import type { IncomingMessage } from 'node:http';

/** The request body, or `too-large` as soon as it is known to exceed `limit` bytes. */
export type BodyResult = { readonly body: Buffer } | 'too-large';

/**
 * Reads the body up to `limit` bytes. A declared Content-Length above the limit is refused
 * before a byte is read; a chunked body is counted while it streams and abandoned (not read
 * further) the moment it passes the limit.
 */
export function readBody(request: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve('too-large');
  return new Promise<BodyResult>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        request.off('data', onData);
        request.off('end', onEnd);
        request.pause();
        chunks.length = 0;
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve({ body: Buffer.concat(chunks, received) });
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', reject);
    request.on('close', () => {
      if (!request.complete) reject(new Error('the client went away before sending the body'));
    });
  });
}
