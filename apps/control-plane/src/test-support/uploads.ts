import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClientWritableStream, Metadata, ServiceError } from '@grpc/grpc-js';
import type { RegisterModelResponse, UploadSnapshotResponse } from '@skiff/proto';
import type { Clients } from './harness.js';

/** How {@link clientStream} ends the request stream. */
export type StreamEnding = 'end' | 'open' | 'cancel';

/**
 * Drives a client-streaming method of a generated client: writes `messages` (each flushed
 * before the next), then half-closes ('end'), leaves the stream open ('open': the server must
 * answer without waiting for more) or cancels it ('cancel'), after `beforeEnding` resolved.
 * Resolves with the response.
 */
export function clientStream<Req, Res>(
  open: (
    metadata: Metadata,
    callback: (error: ServiceError | null, response?: Res) => void,
  ) => ClientWritableStream<Req>,
  metadata: Metadata,
  messages: readonly Req[],
  ending: StreamEnding = 'end',
  /** Awaited after the last write, before the stream is ended or cancelled. */
  beforeEnding?: () => Promise<void>,
): Promise<Res> {
  let answered = false;
  let stream: ClientWritableStream<Req> | undefined;
  const response = new Promise<Res>((resolve, reject) => {
    stream = open(metadata, (error, value) => {
      answered = true;
      if (error) reject(error);
      else resolve(value as Res);
    });
  });
  const call = stream!;
  void (async () => {
    for (const message of messages) {
      if (answered) return;
      await new Promise<void>((resolve) => call.write(message, () => resolve()));
    }
    await beforeEnding?.();
    if (ending === 'end') call.end();
    else if (ending === 'cancel') call.cancel();
  })();
  return response;
}

/** Opens RegisterModel on `clients`, for {@link clientStream}. */
export const registerModel =
  (clients: Clients) =>
  (
    metadata: Metadata,
    callback: (error: ServiceError | null, response?: RegisterModelResponse) => void,
  ) =>
    clients.models.registerModel(metadata, callback);

/** Opens UploadSnapshot on `clients`, for {@link clientStream}. */
export const uploadSnapshot =
  (clients: Clients) =>
  (
    metadata: Metadata,
    callback: (error: ServiceError | null, response?: UploadSnapshotResponse) => void,
  ) =>
    clients.snapshots.uploadSnapshot(metadata, callback);

/** Number of blobs in a filesystem artifact store (`<root>/sha256/<ab>/<hex>`). */
export async function countBlobs(root: string): Promise<number> {
  let count = 0;
  for (const prefix of await readdir(join(root, 'sha256')).catch(() => [])) {
    count += (await readdir(join(root, 'sha256', prefix))).length;
  }
  return count;
}

/** Sizes of the uploads in progress in a filesystem artifact store (its `tmp/*.part` files). */
export async function partialUploads(root: string): Promise<number[]> {
  const names = (await readdir(join(root, 'tmp')).catch(() => [])).filter((name) =>
    name.endsWith('.part'),
  );
  const sizes = await Promise.all(
    names.map((name) =>
      stat(join(root, 'tmp', name)).then(
        (stats) => stats.size,
        () => undefined, // finished meanwhile
      ),
    ),
  );
  return sizes.filter((size) => size !== undefined);
}

/** Polls `condition` until it holds; fails naming `what` when it never does. */
export async function eventually(what: string, condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}
