import { randomUUID } from 'node:crypto';
import type {
  ArtifactDigest,
  ArtifactReadStream,
  ArtifactStore,
  PutOptions,
  PutResult,
  StaleUploadsRemoved,
  StoredArtifact,
} from '@skiff/artifacts';
import type { ArtifactGcStore } from '@skiff/store';

/** How long a pin holds without renewal: what a crashed process's upload keeps pinned. */
const PIN_TTL_MS = 10 * 60_000;

/**
 * Protects the blobs of one upload in progress from the artifact collector until its record
 * is written: every blob is pinned (in Redis, so every control plane's collector sees it)
 * before it becomes visible (`beforePublish`), the pins are renewed while the upload runs, and
 * released when it ends. However long the upload takes, the blobs it stored first are never
 * swept before the record naming them exists.
 */
export class UploadPin {
  readonly #id = randomUUID();
  readonly #digests = new Set<string>();
  readonly #pins: ArtifactGcStore;
  readonly #ttlMs: number;
  #renewal: NodeJS.Timeout | undefined;
  #released = false;

  constructor(pins: ArtifactGcStore, ttlMs = PIN_TTL_MS) {
    this.#pins = pins;
    this.#ttlMs = ttlMs;
  }

  /** Pins `digest`; pass as {@link PutOptions.beforePublish}. */
  readonly beforePublish = async (digest: ArtifactDigest): Promise<void> => {
    if (this.#released) throw new Error('UploadPin: the upload was released');
    this.#digests.add(digest);
    await this.#pins.pin(this.#id, [digest], Date.now() + this.#ttlMs);
    this.#renewal ??= setInterval(() => {
      // A renewal that fails (Redis away) is retried on the next tick, well before expiry.
      this.#pins.pin(this.#id, [...this.#digests], Date.now() + this.#ttlMs).catch(() => undefined);
    }, this.#ttlMs / 4).unref();
  };

  /** Ends the protection (the record is written, or the upload failed). Never throws. */
  async release(): Promise<void> {
    this.#released = true;
    clearInterval(this.#renewal);
    // If Redis is away the pins expire on their own.
    await this.#pins.unpin(this.#id, [...this.#digests]).catch(() => undefined);
  }

  /** `artifacts`, with every put pinned by this upload. */
  store(artifacts: ArtifactStore): ArtifactStore {
    return new PinnedArtifactStore(artifacts, this);
  }
}

/** Delegates to an artifact store, adding an upload's pin to every put. */
class PinnedArtifactStore implements ArtifactStore {
  constructor(
    private readonly inner: ArtifactStore,
    private readonly pin: UploadPin,
  ) {}

  put(source: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<PutResult> {
    const outer = options.beforePublish;
    return this.inner.put(source, {
      ...options,
      beforePublish: async (digest) => {
        await outer?.(digest);
        await this.pin.beforePublish(digest);
      },
    });
  }
  has(digest: ArtifactDigest): Promise<boolean> {
    return this.inner.has(digest);
  }
  stat(digest: ArtifactDigest): Promise<{ size: number } | undefined> {
    return this.inner.stat(digest);
  }
  open(digest: ArtifactDigest): Promise<ArtifactReadStream> {
    return this.inner.open(digest);
  }
  delete(digest: ArtifactDigest): Promise<boolean> {
    return this.inner.delete(digest);
  }
  list(): AsyncIterable<StoredArtifact> {
    return this.inner.list();
  }
  deleteIfUnchanged(artifact: StoredArtifact): Promise<boolean> {
    return this.inner.deleteIfUnchanged(artifact);
  }
  removeStaleUploads(olderThan: Date): Promise<StaleUploadsRemoved> {
    return this.inner.removeStaleUploads(olderThan);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
