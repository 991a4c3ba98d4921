import { type BlockBlobClient } from '@azure/storage-blob';
import { toUnavailable } from './azure-errors.js';

/**
 * Cuts an upload into blocks of `blockSize` bytes and stages them on `blob` with at most
 * `maxConcurrency` requests in flight, so memory stays near `blockSize × (maxConcurrency + 1)`
 * whatever the artifact's size. Staged blocks are invisible until a block list is committed.
 */
export class BlockStager {
  readonly #blob: BlockBlobClient;
  readonly #blockSize: number;
  readonly #maxConcurrency: number;
  readonly #uploadId: string;
  readonly #ids: string[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #buffer: Buffer | undefined;
  #filled = 0;
  #failure: unknown;

  constructor(
    blob: BlockBlobClient,
    options: {
      blockSize: number;
      maxConcurrency: number;
      uploadId: string;
      signal?: AbortSignal | undefined;
    },
  ) {
    this.#blob = blob;
    this.#blockSize = options.blockSize;
    this.#maxConcurrency = options.maxConcurrency;
    this.#uploadId = options.uploadId;
    options.signal?.addEventListener('abort', () => this.#abort.abort(options.signal?.reason), {
      once: true,
    });
  }

  /** Copies `chunk` into the current block, staging each block as it fills. */
  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const buffer = (this.#buffer ??= Buffer.allocUnsafe(this.#blockSize));
      const take = Math.min(this.#blockSize - this.#filled, chunk.byteLength - offset);
      buffer.set(chunk.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === this.#blockSize) await this.#stage(buffer);
    }
  }

  /** Stages the last partial block, waits for every stage, and returns the block ids in order. */
  async finish(): Promise<string[]> {
    if (this.#buffer && this.#filled > 0) await this.#stage(this.#buffer);
    await Promise.all(this.#inFlight);
    this.#throwIfFailed();
    return [...this.#ids];
  }

  /** Cancels stages still in flight (after a failure or an abort) and waits for them to settle. */
  async discard(): Promise<void> {
    this.#buffer = undefined;
    if (this.#inFlight.size === 0) return;
    this.#abort.abort();
    await Promise.allSettled(this.#inFlight);
  }

  async #stage(buffer: Buffer): Promise<void> {
    const block = buffer.subarray(0, this.#filled);
    this.#buffer = undefined;
    this.#filled = 0;
    // Fixed-length ids (Azure requires one length per blob), unique per upload so concurrent
    // uploads of one content to the same blob name never confuse each other's blocks.
    const id = Buffer.from(
      `${this.#uploadId}-${String(this.#ids.length).padStart(8, '0')}`,
    ).toString('base64');
    this.#ids.push(id);
    const staged = this.#blob
      .stageBlock(id, block, block.byteLength, { abortSignal: this.#abort.signal })
      .then(
        () => undefined,
        (error: unknown) => {
          this.#failure ??= error;
          this.#abort.abort();
        },
      );
    this.#inFlight.add(staged);
    void staged.then(() => this.#inFlight.delete(staged));
    while (this.#inFlight.size >= this.#maxConcurrency) await Promise.race(this.#inFlight);
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw toUnavailable('stage a block', this.#failure);
  }
}
