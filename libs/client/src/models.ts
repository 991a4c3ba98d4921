import { modelDigest } from '@skiff/hashing';
import {
  DeleteModelRequest,
  DownloadModelRequest,
  GetModelRequest,
  ListModelsRequest,
  type DeleteModelResponse,
  type DownloadModelResponse,
  type GetModelResponse,
  type ListModelsResponse,
  type ModelServiceClient,
  type RegisterModelRequest,
  type RegisterModelResponse,
} from '@skiff/proto';
import type { MessageInit } from './message-init.js';
import {
  writeModelTree,
  type DownloadedModel,
  type DownloadModelOptions,
} from './model-download.js';
import type { RpcInvoker, RpcOptions } from './rpc.js';
import { fileChunks, modelTreeFiles, type ModelTreeFile } from './uploads.js';

/** What a model version is registered as; the digest and sizes are computed from the files. */
export interface ModelRegistration {
  readonly workspace: string;
  /** 1-255 letters, digits, '-', '_' and '.'. */
  readonly name: string;
  /** Default empty. */
  readonly description?: string;
  /** Default none. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Default none. */
  readonly properties?: Readonly<Record<string, string>>;
}

/** Options of {@link ModelApi.registerModel}. */
export interface RegisterModelOptions extends RpcOptions {
  /** Called after each chunk is handed to the stream with the bytes sent so far and in all. */
  readonly onProgress?: (sentBytes: number, totalBytes: number) => void;
}

/** `skiff.v1.ModelService`: registered models, versioned file trees with a digest. */
export class ModelApi {
  /** @internal Created by {@link SkiffClient.connect}. */
  constructor(
    private readonly rpc: RpcInvoker,
    private readonly client: ModelServiceClient,
  ) {}

  /**
   * Registers a model version from raw upload messages: a `header`, then per file a `file`
   * and its `chunk`s. {@link registerModel} builds them from a path.
   */
  register(
    requests: AsyncIterable<RegisterModelRequest> | Iterable<RegisterModelRequest>,
    options?: RpcOptions,
  ): Promise<RegisterModelResponse> {
    return this.rpc.clientStream(this.client, this.client.registerModel, requests, options);
  }

  /**
   * Registers the file or directory at `path` as the next version of a model: computes its
   * `modelDigest`, then streams every file in path order in chunks of at most 1 MiB.
   *
   * @throws SnapshotError (from `@skiff/hashing`) when the tree cannot be read or holds a link
   *   leaving it; SkiffApiError for what the server refused.
   */
  async registerModel(
    path: string,
    registration: ModelRegistration,
    options: RegisterModelOptions = {},
  ): Promise<RegisterModelResponse> {
    const digest = await modelDigest(path);
    const files = await modelTreeFiles(path);
    const totalBytes = files.reduce((sum, file) => sum + file.size, 0);
    return this.register(
      modelUploadMessages(registration, digest, files, totalBytes, options.onProgress),
      options,
    );
  }

  /** Gets one version (version 0 or unset: the latest). */
  get(request: MessageInit<GetModelRequest>, options?: RpcOptions): Promise<GetModelResponse> {
    return this.rpc.unary(
      this.client,
      this.client.getModel,
      GetModelRequest.fromPartial(request),
      options,
    );
  }

  /** Lists one page of the workspace's models. */
  list(request: MessageInit<ListModelsRequest>, options?: RpcOptions): Promise<ListModelsResponse> {
    return this.rpc.unary(
      this.client,
      this.client.listModels,
      ListModelsRequest.fromPartial(request),
      options,
    );
  }

  /**
   * Streams one version's files as the server sends them: the `model` first, then per file a
   * `file` and its `chunk`s. {@link downloadModel} writes them to a directory.
   */
  download(
    request: MessageInit<DownloadModelRequest>,
    options?: RpcOptions,
  ): AsyncGenerator<DownloadModelResponse, void, undefined> {
    return this.rpc.serverStream(
      this.client,
      this.client.downloadModel,
      DownloadModelRequest.fromPartial(request),
      options,
    );
  }

  /**
   * Downloads one version (version 0 or unset: the latest) into `targetDir`, which holds the
   * model's files afterwards (a single-file model: that file). The files are kept only when
   * their tree digest (`modelDigest` of `@skiff/hashing`) equals the model's digest.
   *
   * @throws SkiffApiError `DATA_LOSS` when the bytes do not hash to the model's digest,
   *   `ALREADY_EXISTS` when a file exists in `targetDir` and `overwrite` is off; what the
   *   server refused.
   */
  downloadModel(
    request: MessageInit<DownloadModelRequest>,
    targetDir: string,
    options: DownloadModelOptions & RpcOptions = {},
  ): Promise<DownloadedModel> {
    return writeModelTree(this.download(request, options), targetDir, options);
  }

  /** Deletes one version (FAILED_PRECONDITION while a service uses it). */
  delete(
    request: MessageInit<DeleteModelRequest>,
    options?: RpcOptions,
  ): Promise<DeleteModelResponse> {
    return this.rpc.unary(
      this.client,
      this.client.deleteModel,
      DeleteModelRequest.fromPartial(request),
      options,
    );
  }
}

async function* modelUploadMessages(
  registration: ModelRegistration,
  digest: string,
  files: readonly ModelTreeFile[],
  totalBytes: number,
  onProgress: ((sent: number, total: number) => void) | undefined,
): AsyncGenerator<RegisterModelRequest> {
  yield {
    part: {
      $case: 'header',
      header: {
        workspace: registration.workspace,
        name: registration.name,
        description: registration.description ?? '',
        tags: { ...registration.tags },
        properties: { ...registration.properties },
        digest,
        totalBytes,
        fileCount: files.length,
      },
    },
  };
  let sent = 0;
  for (const file of files) {
    yield {
      part: {
        $case: 'file',
        file: { path: file.path, sizeBytes: file.size, executable: file.executable },
      },
    };
    for await (const chunk of fileChunks(file.source, file.size)) {
      yield { part: { $case: 'chunk', chunk } };
      sent += chunk.length;
      onProgress?.(sent, totalBytes);
    }
  }
}
