import { DigestMismatchError } from '@skiff/artifacts';
import { InvalidArgumentError, NotFoundError } from '@skiff/errors';
import type { Snapshot, SnapshotServiceServer, UploadSnapshotRequest } from '@skiff/proto';
import type { SnapshotRecord } from '@skiff/store';
import { UploadPin } from '../artifacts-gc/upload-pin.js';
import { scopeWorkspace } from '../rpc/context.js';
import { clientStream, unary } from '../rpc/handlers.js';
import type { ServiceDeps } from './deps.js';
import { chunkRun } from './uploads/chunk-run.js';
import { MessageCursor } from './uploads/message-cursor.js';
import { requireSha256Digest, requireUploadSize } from './uploads/upload-fields.js';

const m = (name: string) => `/skiff.v1.SnapshotService/${name}`;

const chunkOf = (message: UploadSnapshotRequest) =>
  message.part?.$case === 'chunk' ? message.part.chunk : undefined;

function snapshotToProto(record: SnapshotRecord): Snapshot {
  return {
    workspace: record.workspace,
    digest: record.digest,
    sizeBytes: record.sizeBytes,
    createTime: new Date(record.createdAt),
  };
}

/**
 * SnapshotService: source snapshots (deterministic zips) by digest. Clients ask first
 * (GetSnapshot) and upload only what their workspace lacks. A workspace gets a snapshot only
 * by uploading its bytes, even when another workspace stored the same content: knowing a
 * digest must not be enough to use another team's source.
 */
export function snapshotService(deps: ServiceDeps): SnapshotServiceServer {
  const { store, artifacts } = deps;

  return {
    getSnapshot: unary(deps, { method: m('GetSnapshot') }, async (request, context) => {
      const workspace = scopeWorkspace(context, request.workspace);
      const digest = requireSha256Digest(request.digest, 'digest');
      context.target = `snapshot/${digest}`;
      const record = await store.snapshots.get(workspace, digest);
      if (!record) throw new NotFoundError(`snapshot '${digest}' not found`, { field: 'digest' });
      // Clients ask before they deploy: the collector keeps what was just asked for.
      await store.snapshots.markUsed(workspace, [digest]);
      return { snapshot: snapshotToProto(record) };
    }),

    uploadSnapshot: clientStream(
      deps,
      { method: m('UploadSnapshot'), audited: true },
      async (requests: AsyncIterable<UploadSnapshotRequest>, context) => {
        const cursor = new MessageCursor(requests);
        // The blob is safe from the artifact collector until the record names it.
        const pin = new UploadPin(store.artifactGc);
        try {
          const first = await cursor.next();
          if (first?.part?.$case !== 'header') {
            throw new InvalidArgumentError('header: the first message must be the header', {
              field: 'header',
            });
          }
          const header = first.part.header;
          const workspace = scopeWorkspace(context, header.workspace);
          const digest = requireSha256Digest(header.digest, 'header.digest');
          context.target = `snapshot/${digest}`;
          const size = requireUploadSize(
            header.sizeBytes,
            'header.size_bytes',
            deps.maxUploadBytes,
          );
          await store.workspaces.require(workspace);

          const existing = await store.snapshots.get(workspace, digest);
          // A record whose bytes went missing (a store wiped by hand) takes the upload again.
          if (existing && (await artifacts.has(digest))) {
            await store.snapshots.markUsed(workspace, [digest]);
            // The answer goes out now; whatever the client still sends is discarded (close).
            return { snapshot: snapshotToProto(existing), deduplicated: true };
          }

          const put = await artifacts
            .put(
              chunkRun(cursor, {
                chunkOf,
                maxBytes: size,
                tooLong: (received) =>
                  new InvalidArgumentError(
                    `chunk: more bytes than header.size_bytes ${size} (${received} so far)`,
                    { field: 'header.size_bytes' },
                  ),
              }),
              {
                expectedDigest: digest,
                maxBytes: size,
                signal: context.signal,
                beforePublish: pin.beforePublish,
              },
            )
            .catch((error: unknown) => {
              if (error instanceof DigestMismatchError) {
                throw new InvalidArgumentError(
                  `header.digest: digest mismatch, the header says ${digest} but the bytes hash to ${error.actual}`,
                  { field: 'header.digest', cause: error },
                );
              }
              throw error;
            });
          // The run of chunks ends at the end of the stream or at a message that is no chunk.
          if ((await cursor.next()) !== undefined) {
            throw new InvalidArgumentError('header: sent twice; only chunks may follow it', {
              field: 'header',
            });
          }
          if (put.size !== size) {
            throw new InvalidArgumentError(
              `header.size_bytes: declared ${size} bytes, ${put.size} arrived`,
              { field: 'header.size_bytes' },
            );
          }
          context.signal.throwIfAborted();
          const record: SnapshotRecord = {
            workspace,
            digest,
            sizeBytes: size,
            createdAt: deps.now().toISOString(),
          };
          // Two uploads of one snapshot at once: the first record wins and both succeed.
          const added = await store.snapshots.add(record);
          const stored = added
            ? record
            : ((await store.snapshots.get(workspace, digest)) ?? record);
          return { snapshot: snapshotToProto(stored), deduplicated: !added && !put.created };
        } finally {
          cursor.close();
          await pin.release();
        }
      },
    ),
  };
}
