// Copies an image (a manifest, or an index with its child manifests) between repositories:
// blobs first (mounted when both repositories are in one registry, streamed otherwise), then the
// child manifests by digest, then the top manifest under its tag. The manifests' bytes are
// copied unchanged, so the image keeps its digest.
import { RegistryError } from './errors.js';
import { IMAGE_MEDIA_TYPES, INDEX_MEDIA_TYPES } from './media-types.js';
import type { ManifestContent, RegistryClient } from './registry-client.js';
import { isDigest } from './reference.js';

/** One side of a copy. */
export interface ImageRepository {
  readonly client: RegistryClient;
  readonly repository: string;
}

/** What a copy did. */
export interface ImageCopyStats {
  /** Blobs linked by cross-repository mount (no bytes moved). */
  readonly blobsMounted: number;
  /** Blobs streamed from the source and uploaded. */
  readonly blobsUploaded: number;
  /** Blobs the target had already. */
  readonly blobsPresent: number;
  /** Manifests written (children of an index and the top one). */
  readonly manifests: number;
  /** Bytes uploaded. */
  readonly bytesUploaded: number;
  /** Requests that carried blob bytes. */
  readonly uploadRequests: number;
}

/** The copied image. */
export interface ImageCopyResult {
  readonly digest: string;
  readonly mediaType: string;
  readonly stats: ImageCopyStats;
}

/** Options of {@link copyImage}. */
export interface ImageCopyOptions {
  readonly signal?: AbortSignal | undefined;
  /** Blobs copied at once; default 3. */
  readonly concurrency?: number;
}

interface Descriptor {
  readonly digest: string;
  readonly size: number;
  readonly mediaType?: string;
  readonly urls?: readonly string[];
}

const MAX_INDEX_DEPTH = 4;

/**
 * Copies the image `reference` (a tag or digest) from `source` to `target` under the same
 * reference.
 *
 * @throws RegistryError from either registry, `ImageCopyFailed` when content does not match its
 *   digest, `RegistryRequestFailed` for a manifest type skiff does not know.
 */
export async function copyImage(
  source: ImageRepository,
  target: ImageRepository,
  reference: string,
  options: ImageCopyOptions = {},
): Promise<ImageCopyResult> {
  const signal = options.signal;
  const stats = {
    blobsMounted: 0,
    blobsUploaded: 0,
    blobsPresent: 0,
    manifests: 0,
    bytesUploaded: 0,
    uploadRequests: 0,
  };
  const mount =
    target.client.canMountFrom(source.client) && source.repository !== target.repository;
  const copiedBlobs = new Map<string, Promise<void>>();

  const copyBlob = async (descriptor: Descriptor): Promise<void> => {
    if (await target.client.hasBlob(target.repository, descriptor.digest, { signal })) {
      stats.blobsPresent += 1;
      return;
    }
    let upload;
    if (mount) {
      const mounted = await target.client.mountBlob(
        target.repository,
        descriptor.digest,
        source.repository,
        { signal },
      );
      if (mounted.mounted) {
        stats.blobsMounted += 1;
        return;
      }
      upload = mounted.upload;
    } else {
      upload = await target.client.startUpload(target.repository, { signal });
    }
    const body = await source.client.getBlob(source.repository, descriptor.digest, { signal });
    const result = await target.client.uploadBlob(upload, body, descriptor, { signal });
    stats.blobsUploaded += 1;
    stats.bytesUploaded += result.bytes;
    stats.uploadRequests += result.requests;
  };

  const copyBlobs = async (descriptors: readonly Descriptor[]): Promise<void> => {
    const queue = descriptors.filter((d) => !copiedBlobs.has(d.digest));
    const workers = Array.from(
      { length: Math.min(options.concurrency ?? 3, queue.length) },
      async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          const copy = copyBlob(next);
          copiedBlobs.set(next.digest, copy);
          await copy;
        }
      },
    );
    await Promise.all(workers);
    // Blobs shared with a manifest copied earlier were started there; wait for them too.
    await Promise.all(descriptors.flatMap((d) => copiedBlobs.get(d.digest) ?? []));
  };

  const copyContent = async (manifest: ManifestContent, depth: number): Promise<void> => {
    const parsed = parseManifest(manifest, source);
    if (INDEX_MEDIA_TYPES.has(manifest.mediaType)) {
      if (depth >= MAX_INDEX_DEPTH)
        throw unsupported(source, `indexes nested deeper than ${MAX_INDEX_DEPTH}`);
      for (const child of parsed.manifests ?? []) {
        if (await target.client.headManifest(target.repository, child.digest, { signal })) continue;
        const content = await source.client.getManifest(source.repository, child.digest, {
          signal,
        });
        await copyContent(content, depth + 1);
        await target.client.putManifest(
          target.repository,
          child.digest,
          content.bytes,
          content.mediaType,
          { signal },
        );
        stats.manifests += 1;
      }
      return;
    }
    if (!IMAGE_MEDIA_TYPES.has(manifest.mediaType)) {
      throw unsupported(
        source,
        `manifest media type ${JSON.stringify(manifest.mediaType)} (expected an OCI or Docker schema 2 manifest or index)`,
      );
    }
    // Foreign layers (with `urls`) are not stored in registries; they are fetched from their URLs.
    const blobs = [parsed.config, ...(parsed.layers ?? [])].filter(
      (d): d is Descriptor => d !== undefined && (d.urls === undefined || d.urls.length === 0),
    );
    await copyBlobs(blobs);
  };

  const top = await source.client.getManifest(source.repository, reference, { signal });
  await copyContent(top, 0);
  const digest = await target.client.putManifest(
    target.repository,
    isDigest(reference) ? top.digest : reference,
    top.bytes,
    top.mediaType,
    { signal },
  );
  stats.manifests += 1;
  return { digest, mediaType: top.mediaType, stats };
}

interface ParsedManifest {
  readonly config?: Descriptor;
  readonly layers?: readonly Descriptor[];
  readonly manifests?: readonly Descriptor[];
}

function parseManifest(manifest: ManifestContent, source: ImageRepository): ParsedManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(manifest.bytes.toString('utf8'));
  } catch (error) {
    throw new RegistryError(
      `${source.client.role} ${source.client.registry} served manifest ${manifest.digest} of ${source.repository} that is not JSON`,
      {
        code: 'RegistryRequestFailed',
        registry: source.client.registry,
        repository: source.repository,
        cause: error,
      },
    );
  }
  const object = (parsed ?? {}) as Record<string, unknown>;
  const descriptor = (value: unknown, where: string): Descriptor => {
    const d = (value ?? {}) as Record<string, unknown>;
    if (
      typeof d['digest'] !== 'string' ||
      !isDigest(d['digest']) ||
      typeof d['size'] !== 'number'
    ) {
      throw unsupported(
        source,
        `a descriptor in ${where} of manifest ${manifest.digest} without a sha256 digest and size`,
      );
    }
    return {
      digest: d['digest'],
      size: d['size'],
      ...(typeof d['mediaType'] === 'string' ? { mediaType: d['mediaType'] } : {}),
      ...(Array.isArray(d['urls'])
        ? { urls: d['urls'].filter((u): u is string => typeof u === 'string') }
        : {}),
    };
  };
  const list = (key: string) => {
    const value = object[key];
    return Array.isArray(value) ? value.map((item) => descriptor(item, key)) : undefined;
  };
  const config =
    object['config'] === undefined ? undefined : descriptor(object['config'], 'config');
  const layers = list('layers');
  const manifests = list('manifests');
  return {
    ...(config === undefined ? {} : { config }),
    ...(layers === undefined ? {} : { layers }),
    ...(manifests === undefined ? {} : { manifests }),
  };
}

function unsupported(source: ImageRepository, what: string): RegistryError {
  return new RegistryError(
    `${source.client.role} ${source.client.registry} holds, in repository ${source.repository}, ${what}`,
    {
      code: 'RegistryRequestFailed',
      registry: source.client.registry,
      repository: source.repository,
    },
  );
}
