import { createHash, randomBytes } from 'node:crypto';
import { AzureBlobArtifactStore } from '@skiff/artifacts';
import { ModelDigestBuilder } from '@skiff/hashing';
import { isolatedRedis, uniqueTestName, type IsolatedRedis } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, startHarness, type Harness } from './test-support/harness.js';
import { clientStream, registerModel, uploadSnapshot } from './test-support/uploads.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** From libs/artifacts' Azurite global setup (see vitest.config.ts). */
    azuriteConnectionString: string;
  }
}

// The control plane with SKIFF_ARTIFACTS=azure-blob against Azurite (npm, in memory, loopback,
// telemetry off): uploads land in the container, deduplicated by content.
describe('the control plane on Azure Blob storage (Azurite)', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let team: Awaited<ReturnType<Harness['team']>>;
  const container = uniqueTestName('blob').slice(0, 40);
  const connectionString = inject('azuriteConnectionString');

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({
      redisUrl: redis.url,
      prefix: redis.prefix,
      env: {
        SKIFF_ARTIFACTS: 'azure-blob',
        SKIFF_AZURE_BLOB_CONNECTION_STRING: connectionString,
        SKIFF_AZURE_BLOB_CONTAINER: container,
      },
    });
    team = await harness.team('team-a');
  });
  afterAll(async () => {
    await harness.stop();
    await redis.cleanup();
  });

  it('stores a model version and a snapshot as blobs, once per content', async () => {
    const weights = randomBytes(3 * 1024 * 1024);
    const digest = new ModelDigestBuilder()
      .addFile('model.bin', weights.length)
      .update(weights)
      .digest();
    const messages = [
      {
        part: {
          $case: 'header' as const,
          header: {
            workspace: 'team-a',
            name: 'big',
            description: '',
            tags: {},
            properties: {},
            digest,
            totalBytes: weights.length,
            fileCount: 1,
          },
        },
      },
      {
        part: {
          $case: 'file' as const,
          file: { path: 'model.bin', sizeBytes: weights.length, executable: false },
        },
      },
      { part: { $case: 'chunk' as const, chunk: weights.subarray(0, 1024 * 1024) } },
      { part: { $case: 'chunk' as const, chunk: weights.subarray(1024 * 1024) } },
    ];
    const first = await clientStream(
      registerModel(team.deployer),
      team.deployer.metadata,
      messages,
    );
    const second = await clientStream(
      registerModel(team.deployer),
      team.deployer.metadata,
      messages,
    );
    expect([first.model?.version, first.deduplicated]).toEqual([1, false]);
    expect([second.model?.version, second.deduplicated]).toEqual([2, true]);

    const zip = randomBytes(512 * 1024);
    const zipDigest = `sha256:${createHash('sha256').update(zip).digest('hex')}`;
    const uploaded = await clientStream(uploadSnapshot(team.deployer), team.deployer.metadata, [
      {
        part: {
          $case: 'header' as const,
          header: { workspace: 'team-a', digest: zipDigest, sizeBytes: zip.length },
        },
      },
      { part: { $case: 'chunk' as const, chunk: zip } },
    ]);
    expect(uploaded.snapshot?.digest).toBe(zipDigest);
    const found = await call(
      team.reader.snapshots,
      team.reader.snapshots.getSnapshot,
      { workspace: 'team-a', digest: zipDigest },
      team.reader.metadata,
    );
    expect(found.snapshot?.sizeBytes).toBe(zip.length);

    // What the container holds: the weights once (both versions share them) and the zip.
    const store = await AzureBlobArtifactStore.connect({
      connectionString,
      container,
      createContainer: false,
    });
    try {
      const weightsDigest = `sha256:${createHash('sha256').update(weights).digest('hex')}`;
      expect(await store.stat(weightsDigest)).toEqual({ size: weights.length });
      expect(await store.stat(zipDigest)).toEqual({ size: zip.length });
    } finally {
      await store.close();
    }
  });
});
