import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import {
  type BlobClient,
  BlobServiceClient,
  type BlockBlobClient,
  ContainerClient,
  type StoragePipelineOptions,
  type StorageRetryOptions,
} from '@azure/storage-blob';
import {
  type ArtifactReadStream,
  type ArtifactStore,
  type PutOptions,
  type PutResult,
  type StaleUploadsRemoved,
  type StoredArtifact,
} from './artifact-store.js';
import { azureCall, azureStatus, toUnavailable } from './azure-errors.js';
import { BlockStager } from './block-stager.js';
import { ArtifactHasher, digestHex, type ArtifactDigest } from './digest.js';
import {
  ArtifactNotFoundError,
  ArtifactStoreConfigError,
  ArtifactStoreUnavailableError,
  DigestMismatchError,
} from './errors.js';
import { assertMaxBytes, meteredChunks } from './ingest.js';
import { artifactReadStream } from './verified-read.js';

/** Settings of {@link AzureBlobArtifactStore.connect} that do not depend on the auth method. */
export interface AzureBlobStoreCommonOptions {
  /** Container name (3–63 chars: lowercase letters, digits, single hyphens). */
  container: string;
  /** Create the container when it is missing. Default true. */
  createContainer?: boolean;
  /** Bytes per staged block. Default 4 MiB; between 64 KiB and 100 MiB. */
  blockSize?: number;
  /** Blocks staged at once per upload. Default 4. Memory per upload ≈ blockSize × (this + 1). */
  maxConcurrency?: number;
  /** The SDK's retry policy. Default: the SDK's (4 tries, exponential from 4 s). */
  retryOptions?: StorageRetryOptions;
  /** Hash every read and fail a stream whose bytes changed at rest. Default true. */
  verifyOnRead?: boolean;
  /** Temp blobs under `uploads/` older than this are deleted by `connect`. Default 24 h. */
  staleUploadAfterMs?: number;
}

/** Authenticates with a storage connection string (shared key; Azurite in tests). */
export interface AzureBlobConnectionStringOptions extends AzureBlobStoreCommonOptions {
  /** `DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...;BlobEndpoint=...`. */
  connectionString: string;
}

/** Authenticates with Entra ID: a token credential for `https://storage.azure.com/.default`. */
export interface AzureBlobEntraIdOptions extends AzureBlobStoreCommonOptions {
  /** `https://<account>.blob.core.windows.net` (bearer tokens are only sent over https). */
  accountUrl: string;
  /**
   * Built by the app's `main` (e.g. `new DefaultAzureCredential()`) only when the configuration
   * asks for Entra ID; this library never creates one on its own.
   */
  credential: TokenCredential;
}

/** Options of {@link AzureBlobArtifactStore.connect}. */
export type AzureBlobStoreOptions = AzureBlobConnectionStringOptions | AzureBlobEntraIdOptions;

const MIB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;
const UPLOADS_PREFIX = 'uploads/';
const ARTIFACT_NAME = /^sha256\/([0-9a-f]{2})\/(\1[0-9a-f]{62})$/;
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * Artifacts as block blobs `sha256/<ab>/<hex>` in one container.
 *
 * Atomicity: with `expectedDigest` (the normal case: clients send the digest first), blocks are
 * staged directly on the final blob name and committed with `If-None-Match: *` only after the
 * bytes were verified. Staged blocks are never readable; blocks of a failed upload stay
 * uncommitted and Azure discards them (after a week, or when another upload commits the
 * name). Of concurrent puts of one content exactly one commit succeeds (`created: true`); the
 * others get 409/412 and report `created: false`.
 * Without `expectedDigest` the final name is unknown until the end, and Azure cannot rename:
 * the bytes are staged and committed as `uploads/<uuid>`, then streamed back and put under the
 * digest as above (twice the transfer), and the temp blob is deleted.
 */
export class AzureBlobArtifactStore implements ArtifactStore {
  readonly #container: ContainerClient;
  readonly #blockSize: number;
  readonly #maxConcurrency: number;
  readonly #verifyOnRead: boolean;
  #closed = false;

  protected constructor(container: ContainerClient, options: AzureBlobStoreCommonOptions) {
    this.#container = container;
    this.#blockSize = options.blockSize ?? 4 * MIB;
    this.#maxConcurrency = options.maxConcurrency ?? 4;
    this.#verifyOnRead = options.verifyOnRead ?? true;
  }

  /**
   * Connects to the container (creating it unless `createContainer: false`) and deletes stale
   * temp blobs. Never constructs a credential.
   *
   * @throws ArtifactStoreConfigError for invalid options.
   * @throws ArtifactStoreUnavailableError when the service cannot be reached or refuses access.
   */
  static async connect(options: AzureBlobStoreOptions): Promise<AzureBlobArtifactStore> {
    validateOptions(options);
    const pipeline: StoragePipelineOptions = options.retryOptions
      ? { retryOptions: options.retryOptions }
      : {};
    let container: ContainerClient;
    try {
      container =
        'connectionString' in options
          ? BlobServiceClient.fromConnectionString(
              options.connectionString,
              pipeline,
            ).getContainerClient(options.container)
          : new ContainerClient(
              `${options.accountUrl.replace(/\/+$/, '')}/${options.container}`,
              options.credential,
              pipeline,
            );
    } catch (error) {
      throw new ArtifactStoreConfigError(`invalid Azure Blob settings: ${String(error)}`, {
        cause: error,
      });
    }
    if (options.createContainer ?? true) {
      await azureCall('create the container', () => container.createIfNotExists());
    } else if (!(await azureCall('check the container', () => container.exists()))) {
      throw new ArtifactStoreUnavailableError(
        `Azure Blob: container ${options.container} does not exist`,
      );
    }
    const store = new AzureBlobArtifactStore(container, options);
    await store.#removeStaleUploads(options.staleUploadAfterMs ?? DAY_MS);
    return store;
  }

  /** The container's URL (no credentials in it). */
  get containerUrl(): string {
    return this.#container.url;
  }

  /** {@inheritDoc ArtifactStore.put} */
  async put(source: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<PutResult> {
    this.#assertOpen();
    const expected = options.expectedDigest;
    assertMaxBytes(options.maxBytes);
    const target = this.#container.getBlockBlobClient(
      expected === undefined ? `${UPLOADS_PREFIX}${randomUUID()}` : blobName(digestHex(expected)),
    );
    const stager = new BlockStager(target, {
      blockSize: this.#blockSize,
      maxConcurrency: this.#maxConcurrency,
      uploadId: randomUUID().replaceAll('-', ''),
      signal: options.signal,
    });
    const hasher = new ArtifactHasher();
    let tempCommitted = false;
    try {
      for await (const chunk of meteredChunks(source, hasher, options)) await stager.write(chunk);
      const blockIds = await stager.finish();
      const digest = hasher.digest();
      if (expected !== undefined) {
        // Uncommitted blocks are never readable; a mismatch simply never commits them.
        if (digest !== expected) throw new DigestMismatchError(expected, digest);
        await options.beforePublish?.(digest);
        return { digest, size: hasher.size, created: await this.#commitOnce(target, blockIds) };
      }
      await azureCall('commit the upload', () => target.commitBlockList(blockIds));
      tempCommitted = true;
      await options.beforePublish?.(digest);
      const existing = this.#container.getBlockBlobClient(blobName(digestHex(digest)));
      if (await this.#refresh(existing)) return { digest, size: hasher.size, created: false };
      const body = artifactReadStream(await this.#download(target, digest), digest, {
        verify: false, // the put below verifies
        mapError: (error) => toUnavailable('read the upload back', error),
      });
      const copied = await this.put(body, {
        expectedDigest: digest,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return { digest, size: hasher.size, created: copied.created };
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw error;
    } finally {
      await stager.discard();
      if (tempCommitted) await target.deleteIfExists().catch(() => undefined);
    }
  }

  /** {@inheritDoc ArtifactStore.has} */
  async has(digest: ArtifactDigest): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  /** {@inheritDoc ArtifactStore.stat} */
  async stat(digest: ArtifactDigest): Promise<{ size: number } | undefined> {
    this.#assertOpen();
    const blob = this.#container.getBlobClient(blobName(digestHex(digest)));
    try {
      const properties = await blob.getProperties();
      return { size: properties.contentLength ?? 0 };
    } catch (error) {
      if (azureStatus(error) === 404) return undefined;
      throw toUnavailable('stat', error);
    }
  }

  /** {@inheritDoc ArtifactStore.open} */
  async open(digest: ArtifactDigest): Promise<ArtifactReadStream> {
    this.#assertOpen();
    const blob = this.#container.getBlobClient(blobName(digestHex(digest)));
    const body = await this.#download(blob, digest);
    return artifactReadStream(body, digest, {
      verify: this.#verifyOnRead,
      mapError: (error) => toUnavailable('read', error),
    });
  }

  /** {@inheritDoc ArtifactStore.delete} */
  async delete(digest: ArtifactDigest): Promise<boolean> {
    this.#assertOpen();
    const blob = this.#container.getBlobClient(blobName(digestHex(digest)));
    const response = await azureCall('delete', () =>
      blob.deleteIfExists({ deleteSnapshots: 'include' }),
    );
    return response.succeeded;
  }

  /** {@inheritDoc ArtifactStore.list} */
  async *list(): AsyncIterable<StoredArtifact> {
    this.#assertOpen();
    const pages = this.#container.listBlobsFlat({ prefix: 'sha256/' });
    for (;;) {
      const item = await azureCall('list the container', () => pages.next());
      if (item.done) return;
      const hex = ARTIFACT_NAME.exec(item.value.name)?.[2];
      if (hex === undefined) continue;
      yield {
        digest: `sha256:${hex}`,
        size: item.value.properties.contentLength ?? 0,
        modifiedAt: item.value.properties.lastModified,
        revision: item.value.properties.etag ?? '',
      };
    }
  }

  /** {@inheritDoc ArtifactStore.deleteIfUnchanged} — a Delete Blob with `If-Match: <etag>`. */
  async deleteIfUnchanged(artifact: StoredArtifact): Promise<boolean> {
    this.#assertOpen();
    const blob = this.#container.getBlobClient(blobName(digestHex(artifact.digest)));
    if (artifact.revision === '') return false;
    try {
      await blob.delete({ deleteSnapshots: 'include', conditions: { ifMatch: artifact.revision } });
      return true;
    } catch (error) {
      const status = azureStatus(error);
      if (status === 404 || status === 412) return false;
      throw toUnavailable('delete', error);
    }
  }

  /**
   * {@inheritDoc ArtifactStore.removeStaleUploads}
   *
   * Removes temp blobs under `uploads/` (committed or not) and blobs holding only uncommitted
   * blocks (a put with `expectedDigest` that failed) last modified before `olderThan`. A name
   * that also has a committed blob keeps its stray uncommitted blocks (Azure discards them
   * after a week); so does an uncommitted blob the service refuses to delete.
   */
  async removeStaleUploads(olderThan: Date): Promise<StaleUploadsRemoved> {
    this.#assertOpen();
    return this.#removeStale(olderThan, true);
  }

  /**
   * The sweep of {@link removeStaleUploads}; with `everywhere` false only `uploads/` is listed
   * (cheap, what a store does on connect — the whole container is the collector's job).
   */
  async #removeStale(olderThan: Date, everywhere: boolean): Promise<StaleUploadsRemoved> {
    const removed = { count: 0, bytes: 0 };
    // The listing with uncommitted blobs does not say which are committed; a plain one does.
    const committed = new Set<string>();
    if (everywhere) {
      for await (const item of this.#container.listBlobsFlat({ prefix: 'sha256/' })) {
        committed.add(item.name);
      }
    }
    const all = this.#container.listBlobsFlat({
      includeUncommitedBlobs: true,
      ...(everywhere ? {} : { prefix: UPLOADS_PREFIX }),
    });
    for await (const item of all) {
      if (item.properties.lastModified.getTime() >= olderThan.getTime()) continue;
      const temp = item.name.startsWith(UPLOADS_PREFIX);
      if (!temp && (committed.has(item.name) || !ARTIFACT_NAME.test(item.name))) continue;
      try {
        await this.#container.getBlobClient(item.name).delete({
          ...(temp ? { deleteSnapshots: 'include' as const } : {}),
          // A commit that raced with this listing made it an artifact: leave it.
          conditions: { ifUnmodifiedSince: olderThan },
        });
        removed.count += 1;
        removed.bytes += item.properties.contentLength ?? 0;
      } catch (error) {
        const status = azureStatus(error);
        if (status !== 404 && status !== 409 && status !== 412) {
          throw toUnavailable('remove a stale upload', error);
        }
      }
    }
    return removed;
  }

  /** {@inheritDoc ArtifactStore.close} */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** Commits with `If-None-Match: *`; false when another upload committed the name first. */
  async #commitOnce(blob: BlockBlobClient, blockIds: string[]): Promise<boolean> {
    try {
      await blob.commitBlockList(blockIds, { conditions: { ifNoneMatch: '*' } });
      return true;
    } catch (error) {
      const status = azureStatus(error);
      // 409 BlobAlreadyExists / 412 ConditionNotMet, or 400 InvalidBlockList when the winner's
      // commit discarded our staged blocks: in every case the content is there now.
      if (
        status !== undefined &&
        status >= 400 &&
        status < 500 &&
        status !== 401 &&
        status !== 403
      ) {
        if (await this.#refresh(blob)) return false;
      }
      throw toUnavailable('commit', error);
    }
  }

  /**
   * Refreshes an existing artifact (Set Blob Metadata changes its ETag and Last-Modified), so
   * a sweep that listed it before cannot delete it now; false when it does not exist.
   */
  async #refresh(blob: BlobClient): Promise<boolean> {
    try {
      await blob.setMetadata({});
      return true;
    } catch (error) {
      if (azureStatus(error) === 404) return false;
      throw toUnavailable('refresh', error);
    }
  }

  async #download(blob: BlobClient, digest: ArtifactDigest): Promise<NodeJS.ReadableStream> {
    try {
      // The SDK resumes an interrupted body from where it stopped, up to this many times.
      const response = await blob.download(0, undefined, { maxRetryRequests: 5 });
      if (!response.readableStreamBody) throw new Error('the download response had no body');
      return response.readableStreamBody;
    } catch (error) {
      if (azureStatus(error) === 404) throw new ArtifactNotFoundError(digest, { cause: error });
      throw toUnavailable('download', error);
    }
  }

  async #removeStaleUploads(olderThanMs: number): Promise<void> {
    try {
      await this.#removeStale(new Date(Date.now() - olderThanMs), false);
    } catch {
      // Best effort: a principal without list permission can still use the store.
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new ArtifactStoreUnavailableError('the artifact store is closed');
  }
}

function blobName(hex: string): string {
  return `sha256/${hex.slice(0, 2)}/${hex}`;
}

function validateOptions(options: AzureBlobStoreOptions): void {
  if (!CONTAINER_NAME.test(options.container)) {
    throw new ArtifactStoreConfigError(
      `container: ${JSON.stringify(options.container)} is not a valid container name (3-63 lowercase letters, digits, single hyphens)`,
    );
  }
  const blockSize = options.blockSize ?? 4 * MIB;
  if (!Number.isSafeInteger(blockSize) || blockSize < 64 * 1024 || blockSize > 100 * MIB) {
    throw new ArtifactStoreConfigError(
      `blockSize: must be an integer from 64 KiB to 100 MiB, got ${blockSize}`,
    );
  }
  const concurrency = options.maxConcurrency ?? 4;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new ArtifactStoreConfigError(
      `maxConcurrency: must be an integer from 1 to 64, got ${concurrency}`,
    );
  }
  if ('accountUrl' in options) {
    let url: URL;
    try {
      url = new URL(options.accountUrl);
    } catch (error) {
      throw new ArtifactStoreConfigError(`accountUrl: not a URL: ${options.accountUrl}`, {
        cause: error,
      });
    }
    if (url.protocol !== 'https:') {
      throw new ArtifactStoreConfigError(
        'accountUrl: must be https (Entra ID tokens are never sent in clear text)',
      );
    }
    if (typeof options.credential?.getToken !== 'function') {
      throw new ArtifactStoreConfigError(
        'credential: a TokenCredential is required for Entra ID auth',
      );
    }
  }
}
