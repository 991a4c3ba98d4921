import { stat } from 'node:fs/promises';
import {
  GetSnapshotRequest,
  type GetSnapshotResponse,
  type SnapshotServiceClient,
  type UploadSnapshotRequest,
  type UploadSnapshotResponse,
} from '@skiff/proto';
import { SkiffApiError } from './errors.js';
import type { MessageInit } from './message-init.js';
import type { RpcInvoker, RpcOptions } from './rpc.js';
import { fileChunks, fileDigest } from './uploads.js';

/** Options of {@link SnapshotApi.uploadSnapshot}. */
export interface UploadSnapshotOptions extends RpcOptions {
  readonly workspace: string;
  /** The zip's `sha256:<hex>` digest when already known (from `writeSnapshot`); default: computed. */
  readonly digest?: string;
  /** Called after each chunk is handed to the stream with the bytes sent so far and in all. */
  readonly onProgress?: (sentBytes: number, totalBytes: number) => void;
}

/** `skiff.v1.SnapshotService`: source snapshots (deterministic zips), stored once per digest. */
export class SnapshotApi {
  /** @internal Created by {@link SkiffClient.connect}. */
  constructor(
    private readonly rpc: RpcInvoker,
    private readonly client: SnapshotServiceClient,
  ) {}

  /** Gets a snapshot by digest (NOT_FOUND when the workspace has none). */
  get(
    request: MessageInit<GetSnapshotRequest>,
    options?: RpcOptions,
  ): Promise<GetSnapshotResponse> {
    return this.rpc.unary(
      this.client,
      this.client.getSnapshot,
      GetSnapshotRequest.fromPartial(request),
      options,
    );
  }

  /** Whether the workspace already holds a snapshot with this digest. */
  async exists(
    request: { workspace: string; digest: string },
    options?: RpcOptions,
  ): Promise<boolean> {
    try {
      await this.get(request, options);
      return true;
    } catch (error) {
      if (error instanceof SkiffApiError && error.code === 'NOT_FOUND') return false;
      throw error;
    }
  }

  /** Uploads a snapshot from raw messages: a `header`, then the zip's bytes as `chunk`s. */
  upload(
    requests: AsyncIterable<UploadSnapshotRequest> | Iterable<UploadSnapshotRequest>,
    options?: RpcOptions,
  ): Promise<UploadSnapshotResponse> {
    return this.rpc.clientStream(this.client, this.client.uploadSnapshot, requests, options);
  }

  /** Uploads the snapshot zip at `zipPath` in chunks of at most 1 MiB. */
  async uploadSnapshot(
    zipPath: string,
    options: UploadSnapshotOptions,
  ): Promise<UploadSnapshotResponse> {
    const { digest, size } =
      options.digest === undefined
        ? await fileDigest(zipPath)
        : { digest: options.digest, size: (await stat(zipPath)).size };
    const { workspace, onProgress } = options;
    async function* messages(): AsyncGenerator<UploadSnapshotRequest> {
      yield { part: { $case: 'header', header: { workspace, digest, sizeBytes: size } } };
      let sent = 0;
      for await (const chunk of fileChunks(zipPath, size)) {
        yield { part: { $case: 'chunk', chunk } };
        sent += chunk.length;
        onProgress?.(sent, size);
      }
    }
    return this.upload(messages(), options);
  }
}
