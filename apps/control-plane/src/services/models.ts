import { isArtifactDigest } from '@skiff/artifacts';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@skiff/errors';
import {
  WebserviceSpec,
  type Model,
  type ModelServiceServer,
  type ModelUploadHeader,
  type RegisterModelRequest,
} from '@skiff/proto';
import type { ModelRecord } from '@skiff/store';
import { UploadPin } from '../artifacts-gc/upload-pin.js';
import { scopeWorkspace, type RequestContext } from '../rpc/context.js';
import { clientStream, serverStream, unary } from '../rpc/handlers.js';
import { paginate, pageOffset, pageSize, requireVersion } from '../rpc/validate.js';
import type { ServiceDeps } from './deps.js';
import { MessageCursor } from './uploads/message-cursor.js';
import { receiveModelTree } from './uploads/model-tree.js';
import {
  requireModelName,
  requireSha256Digest,
  requireUploadSize,
} from './uploads/upload-fields.js';

const m = (name: string) => `/skiff.v1.ModelService/${name}`;

/** Most files in one model: its record (one JSON value in Redis) lists every file. */
const MAX_MODEL_FILES = 100_000;
/** DownloadModel sends at most this much per chunk message (the proto's limit). */
const CHUNK_BYTES = 1024 * 1024;

function modelToProto(record: ModelRecord): Model {
  return {
    workspace: record.workspace,
    name: record.name,
    version: record.version,
    digest: record.digest,
    sizeBytes: record.sizeBytes,
    fileCount: record.files.length,
    description: record.description,
    tags: record.tags,
    properties: record.properties,
    createTime: new Date(record.createdAt),
    createdBy: record.createdBy,
  };
}

/** The header's fields, checked before any file or byte is read. */
function checkHeader(
  header: ModelUploadHeader,
  context: RequestContext,
  maxUploadBytes: number,
): ModelUploadHeader & { workspace: string } {
  const workspace = scopeWorkspace(context, header.workspace);
  const name = requireModelName(header.name, 'header.name');
  context.target = `model/${name}`;
  requireSha256Digest(header.digest, 'header.digest');
  requireUploadSize(header.totalBytes, 'header.total_bytes', maxUploadBytes);
  if (
    !Number.isInteger(header.fileCount) ||
    header.fileCount < 1 ||
    header.fileCount > MAX_MODEL_FILES
  ) {
    throw new InvalidArgumentError(
      `header.file_count: expected 1 to ${MAX_MODEL_FILES} files, got ${header.fileCount}`,
      { field: 'header.file_count' },
    );
  }
  return { ...header, workspace, name };
}

/** ModelService: versioned model trees, uploaded by client stream into the artifact store. */
export function modelService(deps: ServiceDeps): ModelServiceServer {
  const { store } = deps;

  return {
    registerModel: clientStream(
      deps,
      { method: m('RegisterModel'), audited: true },
      async (requests: AsyncIterable<RegisterModelRequest>, context) => {
        const cursor = new MessageCursor(requests);
        // The files' blobs are safe from the artifact collector until the record names them.
        const pin = new UploadPin(store.artifactGc);
        try {
          const first = await cursor.next();
          if (first?.part?.$case !== 'header') {
            throw new InvalidArgumentError('header: the first message must be the header', {
              field: 'header',
            });
          }
          const header = checkHeader(first.part.header, context, deps.maxUploadBytes);
          await store.workspaces.require(header.workspace);
          const tree = await receiveModelTree(
            cursor,
            header,
            pin.store(deps.artifacts),
            context.signal,
          );
          if (tree.digest !== header.digest) {
            throw new InvalidArgumentError(
              `header.digest: digest mismatch, the header says ${header.digest} but the files hash to ${tree.digest}`,
              { field: 'header.digest' },
            );
          }
          // A client that cancelled after its last byte but before half-closing cut the
          // stream too: nothing is recorded.
          context.signal.throwIfAborted();
          const existing = await store.models.findByDigest(header.workspace, tree.digest);
          const record = await store.models.register({
            workspace: header.workspace,
            name: header.name,
            digest: tree.digest,
            sizeBytes: tree.sizeBytes,
            files: tree.files,
            description: header.description,
            tags: header.tags,
            properties: header.properties,
            createdAt: deps.now().toISOString(),
            createdBy: context.caller.principal,
            deduplicated: existing !== undefined,
          });
          context.target = `model/${record.name}/${record.version}`;
          context.log.info(
            { model: record.name, version: record.version, files: record.files.length },
            'model registered',
          );
          return { model: modelToProto(record), deduplicated: record.deduplicated };
        } finally {
          cursor.close();
          await pin.release();
        }
      },
    ),

    getModel: unary(deps, { method: m('GetModel') }, async (request, context) => {
      const workspace = scopeWorkspace(context, request.workspace);
      const name = requireModelName(request.name, 'name');
      const version = requireVersion(request.version, true);
      context.target = `model/${name}`;
      return { model: modelToProto(await store.models.require(workspace, name, version)) };
    }),

    listModels: unary(deps, { method: m('ListModels') }, async (request, context) => {
      const workspace = scopeWorkspace(context, request.workspace);
      const name = request.name === '' ? undefined : requireModelName(request.name, 'name');
      const size = pageSize(request.pageSize);
      const offset = pageOffset(request.pageToken);
      // Ordered by name, then version: the latest of a name is the last of its run.
      const all = await store.models.list(workspace, name);
      const models = request.latestOnly
        ? all.filter((model, index) => all[index + 1]?.name !== model.name)
        : all;
      const { page, next } = paginate(models, size, offset);
      return { models: page.map(modelToProto), nextPageToken: next };
    }),

    downloadModel: serverStream(
      deps,
      { method: m('DownloadModel') },
      async (request, context, send) => {
        const workspace = scopeWorkspace(context, request.workspace);
        const name = requireModelName(request.name, 'name');
        const version = requireVersion(request.version, true);
        context.target = `model/${name}`;
        const record = await store.models.require(workspace, name, version);
        context.target = `model/${record.name}/${record.version}`;
        await send({ part: { $case: 'model', model: modelToProto(record) } });
        // Files in the order the record lists them: path order, as registered and hashed.
        for (const file of record.files) {
          if (!isArtifactDigest(file.blob)) {
            throw new Error(`model ${record.name}:${record.version} lists a malformed blob digest`);
          }
          await send({
            part: {
              $case: 'file',
              file: { path: file.path, sizeBytes: file.size, executable: file.executable },
            },
          });
          // Leaving the loop early (cancelled) ends the iterator, which closes the blob stream.
          for await (const chunk of await deps.artifacts.open(file.blob)) {
            for (let offset = 0; offset < chunk.length; offset += CHUNK_BYTES) {
              if (context.signal.aborted) return;
              await send({
                part: {
                  $case: 'chunk',
                  chunk: Buffer.from(chunk.subarray(offset, offset + CHUNK_BYTES)),
                },
              });
            }
          }
        }
      },
    ),

    deleteModel: unary(
      deps,
      { method: m('DeleteModel'), audited: true },
      async (request, context) => {
        const workspace = scopeWorkspace(context, request.workspace);
        const name = requireModelName(request.name, 'name');
        // No "latest" here: deleting whichever version happens to be newest is too easy a slip.
        const version = requireVersion(request.version, false);
        context.target = `model/${name}/${version}`;
        await store.models.require(workspace, name, version);
        const latest = (await store.models.get(workspace, name))?.version;
        const users = (await store.services.list(workspace))
          .filter((service) =>
            WebserviceSpec.fromJSON(service.spec).models.some(
              (ref) =>
                ref.name === name &&
                (ref.version === version || (ref.version === 0 && latest === version)),
            ),
          )
          .map((service) => service.name);
        if (users.length > 0) {
          throw new FailedPreconditionError(
            `model '${name}' version ${version} is used by webservice ${users.map((u) => `'${u}'`).join(', ')}; update or delete ${users.length === 1 ? 'it' : 'them'} first`,
            { field: 'version' },
          );
        }
        // The files' blobs stay for now: the artifact collector deletes those no model version
        // or snapshot of any workspace names (docs/control-plane.md, "Garbage collection").
        if (!(await store.models.delete(workspace, name, version))) {
          throw new NotFoundError(`model '${name}' version ${version} not found`);
        }
        return {};
      },
    ),
  };
}
