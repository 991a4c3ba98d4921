// Small real images for registry tests: a gzipped tar layer holding one file, an image config
// naming its diff id, and an OCI (or Docker schema 2) manifest — or an index of several. Pushed
// through the same distribution API the code under test speaks.
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from '../media-types.js';
import type { RegistryClient } from '../registry-client.js';

/** An image's manifest and every blob it names. */
export interface TestImage {
  readonly manifest: Buffer;
  readonly mediaType: string;
  readonly digest: string;
  readonly blobs: ReadonlyMap<string, Buffer>;
  /** Child images of an index; empty for an image. */
  readonly children: readonly TestImage[];
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

// One ustar entry for a regular file, then the two zero blocks that end an archive.
function tar(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, 'ascii');
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0');
  field(0, 100, name);
  field(100, 8, octal(0o644, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(content.length, 12));
  field(136, 12, octal(0, 12));
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

/** Options of {@link createTestImage}. */
export interface TestImageOptions {
  /** Bytes of the file in the layer; random (incompressible) unless given. */
  readonly content?: Buffer;
  /** Size of random content; default 2048. */
  readonly size?: number;
  /** Docker schema 2 media types instead of OCI. */
  readonly docker?: boolean;
  readonly architecture?: string;
}

/** Builds an image in memory. */
export function createTestImage(options: TestImageOptions = {}): TestImage {
  const content = options.content ?? randomBytes(options.size ?? 2048);
  const layerTar = tar('skiff-test.bin', content);
  const layer = gzipSync(layerTar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: options.architecture ?? 'amd64',
      os: 'linux',
      config: { Entrypoint: ['/skiff-test.bin'] },
      rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
    }),
  );
  const mediaType = options.docker ? DOCKER_MANIFEST : OCI_MANIFEST;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: options.docker
          ? 'application/vnd.docker.container.image.v1+json'
          : 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: options.docker
            ? 'application/vnd.docker.image.rootfs.diff.tar.gzip'
            : 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: sha256(layer),
          size: layer.length,
        },
      ],
    }),
  );
  return {
    manifest,
    mediaType,
    digest: sha256(manifest),
    blobs: new Map([
      [sha256(config), config],
      [sha256(layer), layer],
    ]),
    children: [],
  };
}

/** An OCI index over `children` (one platform each). */
export function createTestIndex(children: readonly TestImage[]): TestImage {
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((child, i) => ({
        mediaType: child.mediaType,
        digest: child.digest,
        size: child.manifest.length,
        platform: { os: 'linux', architecture: ['amd64', 'arm64', 's390x', 'ppc64le'][i % 4] },
      })),
    }),
  );
  return { manifest, mediaType: OCI_INDEX, digest: sha256(manifest), blobs: new Map(), children };
}

/** Pushes `image` (its children first) and tags it `tag`; returns the manifest digest. */
export async function pushTestImage(
  client: RegistryClient,
  repository: string,
  tag: string,
  image: TestImage,
): Promise<string> {
  for (const child of image.children) await pushTestImage(client, repository, child.digest, child);
  for (const blob of image.blobs.values()) await client.pushBlob(repository, blob);
  return client.putManifest(repository, tag, image.manifest, image.mediaType);
}
