// Copying images between two real docker-registry processes on loopback (and between two
// repositories of one registry, where blobs are mounted instead of moved).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from '@skiff/testing';
import { copyImage } from './copy.js';
import { RegistryError } from './errors.js';
import { DOCKER_MANIFEST, OCI_INDEX } from './media-types.js';
import { RegistryClient } from './registry-client.js';
import { createTestImage, createTestIndex, pushTestImage } from './test-support/test-image.js';

let global: TestRegistry;
let workspace: TestRegistry;

beforeAll(async () => {
  [global, workspace] = await Promise.all([startTestRegistry(), startTestRegistry()]);
});
afterAll(async () => {
  await Promise.all([global?.stop(), workspace?.stop()]);
});

const connect = (registry: TestRegistry, role: string, chunkSize?: number) =>
  RegistryClient.connect(
    { registry: registry.registry },
    { role, ...(chunkSize === undefined ? {} : { chunkSize }) },
  );

let repositoryCounter = 0;
const repository = (name: string) => `skiff-test/${name}-${process.pid}-${++repositoryCounter}`;

describe('copyImage', () => {
  it('streams every blob of an OCI image to another registry and keeps the digest', async () => {
    const source = {
      client: await connect(global, 'global registry'),
      repository: repository('src'),
    };
    const target = {
      client: await connect(workspace, 'workspace registry'),
      repository: repository('dst'),
    };
    const image = createTestImage();
    await pushTestImage(source.client, source.repository, 'v1-a', image);

    const result = await copyImage(source, target, 'v1-a');

    expect(result.digest).toBe(image.digest);
    expect(result.stats).toMatchObject({
      blobsUploaded: 2,
      blobsMounted: 0,
      blobsPresent: 0,
      manifests: 1,
    });
    const found = await target.client.headManifest(target.repository, 'v1-a');
    expect(found?.digest).toBe(image.digest);
    // What the workspace registry serves, read without skiff's client: the same bytes.
    for (const [digest, bytes] of image.blobs) {
      const response = await fetch(`${workspace.origin}/v2/${target.repository}/blobs/${digest}`);
      expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
    }
  });

  it('uploads a blob larger than the chunk size in several PATCH requests', async () => {
    const source = {
      client: await connect(global, 'global registry'),
      repository: repository('src'),
    };
    const target = {
      client: await connect(workspace, 'workspace registry', 1024),
      repository: repository('dst'),
    };
    const image = createTestImage({ size: 5000 });
    await pushTestImage(source.client, source.repository, 'v1-big', image);

    const result = await copyImage(source, target, 'v1-big');

    const layerSize = [...image.blobs.values()].reduce((n, b) => Math.max(n, b.length), 0);
    expect(layerSize).toBeGreaterThan(4 * 1024);
    // The config (< 1 KiB) goes in one request; the layer in ceil(size / 1024) chunks + the PUT.
    expect(result.stats.uploadRequests).toBe(1 + Math.ceil(layerSize / 1024) + 1);
    expect(result.stats.bytesUploaded).toBe(
      [...image.blobs.values()].reduce((n, b) => n + b.length, 0),
    );
    expect((await target.client.headManifest(target.repository, 'v1-big'))?.digest).toBe(
      image.digest,
    );
  });

  it('mounts blobs across repositories of one registry instead of moving them', async () => {
    const client = await connect(global, 'global registry');
    const source = { client, repository: repository('src') };
    const target = { client, repository: repository('dst') };
    const image = createTestImage();
    await pushTestImage(client, source.repository, 'v1-m', image);

    const result = await copyImage(source, target, 'v1-m');

    expect(result.stats).toMatchObject({ blobsMounted: 2, blobsUploaded: 0, bytesUploaded: 0 });
    expect((await client.headManifest(target.repository, 'v1-m'))?.digest).toBe(image.digest);
  });

  it('copies an index with its child manifests first, and a Docker schema 2 manifest as is', async () => {
    const source = {
      client: await connect(global, 'global registry'),
      repository: repository('src'),
    };
    const target = {
      client: await connect(workspace, 'workspace registry'),
      repository: repository('dst'),
    };
    const docker = createTestImage({ docker: true, architecture: 'arm64' });
    const index = createTestIndex([createTestImage(), docker]);
    await pushTestImage(source.client, source.repository, 'v1-index', index);

    const result = await copyImage(source, target, 'v1-index');

    expect(result).toMatchObject({ digest: index.digest, mediaType: OCI_INDEX });
    expect(result.stats).toMatchObject({ blobsUploaded: 4, manifests: 3 });
    const child = await target.client.headManifest(target.repository, docker.digest);
    expect(child).toMatchObject({ digest: docker.digest, mediaType: DOCKER_MANIFEST });
  });

  it('skips blobs the target already has', async () => {
    const source = {
      client: await connect(global, 'global registry'),
      repository: repository('src'),
    };
    const target = {
      client: await connect(workspace, 'workspace registry'),
      repository: repository('dst'),
    };
    const image = createTestImage();
    await pushTestImage(source.client, source.repository, 'v1-x', image);
    await pushTestImage(target.client, target.repository, 'other', image);

    const result = await copyImage(source, target, 'v1-x');

    expect(result.stats).toMatchObject({ blobsPresent: 2, blobsUploaded: 0 });
  });

  it('fails with ImageCopyFailed, storing nothing, when a blob does not match its digest', async () => {
    const client = await connect(workspace, 'workspace registry');
    const target = repository('dst');
    const upload = await client.startUpload(target);
    const bytes = Buffer.from('not what the digest says');
    const wrong = `sha256:${'0'.repeat(64)}`;

    const error = await client
      .uploadBlob(upload, [bytes], { digest: wrong, size: bytes.length })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('ImageCopyFailed');
    expect((error as Error).message).toMatch(
      /^ImageCopyFailed: workspace registry 127\.0\.0\.1:\d+ \(repository skiff-test\/dst-.*expected 24 bytes with digest sha256:0{64}; nothing was stored/,
    );
    expect(await client.hasBlob(target, wrong)).toBe(false);
  });

  it('names the registry and the reason when it is unreachable', async () => {
    const stopped = await startTestRegistry();
    await stopped.stop();
    const error = await RegistryClient.connect(
      { registry: stopped.registry },
      { role: 'global registry' },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('RegistryUnavailable');
    expect((error as Error).message).toContain(
      `RegistryUnavailable: global registry ${stopped.registry} is unreachable (ECONNREFUSED)`,
    );
  });
});
