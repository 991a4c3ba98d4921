import { randomUUID } from 'node:crypto';
import { type AccessToken, type GetTokenOptions, type TokenCredential } from '@azure/identity';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { freePort } from '@skiff/testing';
import { describe, expect, inject, it } from 'vitest';
import { AzureBlobArtifactStore } from './azure-blob-store.js';
import { sha256Digest } from './digest.js';
import { ArtifactStoreConfigError, ArtifactStoreUnavailableError } from './errors.js';
import { startAzurite } from './test-support/azurite-server.js';
import { chunked, patternBytes, readAll } from './test-support/sources.js';
import { describeCollectionContract } from './test-support/collection-contract.js';
import { describeArtifactStoreContract } from './test-support/store-contract.js';

const connectionString = inject('azuriteConnectionString');
const NO_RETRIES = { maxTries: 1 };

function uniqueContainer(): string {
  return `test-${randomUUID()}`;
}

function containerClient(name: string, connection = connectionString): ContainerClient {
  return BlobServiceClient.fromConnectionString(connection).getContainerClient(name);
}

const blobNameOf = (digest: string): string => {
  const hex = digest.slice('sha256:'.length);
  return `sha256/${hex.slice(0, 2)}/${hex}`;
};

describeArtifactStoreContract('azure-blob (Azurite)', async () => {
  const container = uniqueContainer();
  // Small blocks so every test artifact spans several blocks and concurrent stages.
  const store = await AzureBlobArtifactStore.connect({
    container,
    connectionString,
    blockSize: 256 * 1024,
    maxConcurrency: 3,
  });
  const client = containerClient(container);
  return {
    store,
    listObjects: async () => {
      const names: string[] = [];
      for await (const blob of client.listBlobsFlat()) names.push(blob.name);
      return names;
    },
    objectName: blobNameOf,
    corrupt: async (digest, bytes) => {
      await client.getBlockBlobClient(blobNameOf(digest)).uploadData(bytes);
    },
    dispose: async () => {
      await store.close();
      await client.deleteIfExists();
    },
  };
});

describeCollectionContract('azure-blob (Azurite)', async () => {
  const container = uniqueContainer();
  const store = await AzureBlobArtifactStore.connect({
    container,
    connectionString,
    blockSize: 64 * 1024,
    maxConcurrency: 2,
  });
  const client = containerClient(container);
  return {
    store,
    // A put whose client went away after some blocks: with a digest they are uncommitted on
    // the artifact's name, without one on a temp name under uploads/.
    abandonUpload: async (seed) => {
      const bytes = patternBytes(seed, 200 * 1024);
      async function* cut(): AsyncGenerator<Uint8Array> {
        yield* chunked(bytes.subarray(0, 150 * 1024), 64 * 1024);
        throw new Error('client went away');
      }
      await expect(store.put(cut(), { expectedDigest: sha256Digest(bytes) })).rejects.toThrow();
      await expect(store.put(cut())).rejects.toThrow();
    },
    partialUploads: async () => {
      const committed = new Set<string>();
      for await (const blob of client.listBlobsFlat()) committed.add(blob.name);
      let partial = 0;
      for await (const blob of client.listBlobsFlat({ includeUncommitedBlobs: true })) {
        if (!committed.has(blob.name) || blob.name.startsWith('uploads/')) partial += 1;
      }
      return partial;
    },
    dispose: async () => {
      await store.close();
      await client.deleteIfExists();
    },
  };
});

describe('AzureBlobArtifactStore', () => {
  it('creates its container when missing and lays artifacts out as sha256/<ab>/<hex>', async () => {
    const container = uniqueContainer();
    const client = containerClient(container);
    expect(await client.exists()).toBe(false);
    const store = await AzureBlobArtifactStore.connect({ container, connectionString });
    try {
      expect(await client.exists()).toBe(true);
      const { digest } = await store.put(chunked(patternBytes('layout', 1000)));
      const names: string[] = [];
      for await (const blob of client.listBlobsFlat()) names.push(blob.name);
      expect(names).toEqual([blobNameOf(digest)]);
    } finally {
      await client.deleteIfExists();
    }
  });

  it('leaves no blob behind when it had to stage an upload of unknown digest under uploads/', async () => {
    const container = uniqueContainer();
    const client = containerClient(container);
    const store = await AzureBlobArtifactStore.connect({
      container,
      connectionString,
      blockSize: 64 * 1024,
    });
    try {
      const bytes = patternBytes('unknown-digest', 500_000);
      const { digest, created } = await store.put(chunked(bytes));
      expect(created).toBe(true);
      const names: string[] = [];
      for await (const blob of client.listBlobsFlat({ includeUncommitedBlobs: true })) {
        if (!blob.name.startsWith('sha256/')) names.push(blob.name);
      }
      expect(names).toEqual([]);
      expect((await readAll(await store.open(digest))).equals(bytes)).toBe(true);
    } finally {
      await client.deleteIfExists();
    }
  });

  it('removes temp uploads left by a crashed process, but not recent ones', async () => {
    const container = uniqueContainer();
    const client = containerClient(container);
    await client.create();
    try {
      await client.getBlockBlobClient('uploads/crashed').uploadData(Buffer.from('partial'));
      await AzureBlobArtifactStore.connect({ container, connectionString, staleUploadAfterMs: 0 });
      expect(await client.getBlobClient('uploads/crashed').exists()).toBe(false);

      await client.getBlockBlobClient('uploads/in-progress').uploadData(Buffer.from('partial'));
      await AzureBlobArtifactStore.connect({ container, connectionString });
      expect(await client.getBlobClient('uploads/in-progress').exists()).toBe(true);
    } finally {
      await client.deleteIfExists();
    }
  });

  it('fails to connect with ArtifactStoreUnavailableError when nothing listens', async () => {
    const port = await freePort();
    const unreachable = connectionString.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`);
    const connect = AzureBlobArtifactStore.connect({
      container: uniqueContainer(),
      connectionString: unreachable,
      retryOptions: NO_RETRIES,
    });
    await expect(connect).rejects.toBeInstanceOf(ArtifactStoreUnavailableError);
    await expect(connect).rejects.toHaveProperty('cause');
  });

  it('turns an emulator that went away into ArtifactStoreUnavailableError on every call', async () => {
    const azurite = await startAzurite();
    let stopped = false;
    try {
      const store = await AzureBlobArtifactStore.connect({
        container: uniqueContainer(),
        connectionString: azurite.connectionString,
        retryOptions: NO_RETRIES,
      });
      const { digest } = await store.put(chunked(patternBytes('going away', 10_000)));
      await azurite.stop();
      stopped = true;
      await expect(store.has(digest)).rejects.toBeInstanceOf(ArtifactStoreUnavailableError);
      await expect(store.stat(digest)).rejects.toBeInstanceOf(ArtifactStoreUnavailableError);
      await expect(store.open(digest)).rejects.toBeInstanceOf(ArtifactStoreUnavailableError);
      await expect(store.delete(digest)).rejects.toBeInstanceOf(ArtifactStoreUnavailableError);
      await expect(store.put(chunked(patternBytes('x', 10)))).rejects.toBeInstanceOf(
        ArtifactStoreUnavailableError,
      );
    } finally {
      if (!stopped) await azurite.stop();
    }
  });

  it('authenticates with an injected TokenCredential for the storage scope, over https only', async () => {
    const scopes: string[][] = [];
    const credential: TokenCredential = {
      getToken: (scope: string | string[], _options?: GetTokenOptions): Promise<AccessToken> => {
        scopes.push([scope].flat());
        return Promise.resolve({ token: 'stub-token', expiresOnTimestamp: Date.now() + 3_600_000 });
      },
    };
    // Nothing listens on this loopback port: the SDK asks for a token before it connects.
    const port = await freePort();
    const connect = AzureBlobArtifactStore.connect({
      container: uniqueContainer(),
      accountUrl: `https://127.0.0.1:${port}/${'devstoreaccount1'}`,
      credential,
      retryOptions: NO_RETRIES,
    });
    await expect(connect).rejects.toBeInstanceOf(ArtifactStoreUnavailableError);
    expect(scopes).toEqual([['https://storage.azure.com/.default']]);

    await expect(
      AzureBlobArtifactStore.connect({
        container: uniqueContainer(),
        accountUrl: `http://127.0.0.1:${port}`,
        credential,
      }),
    ).rejects.toBeInstanceOf(ArtifactStoreConfigError);
  });

  it('validates its options before connecting', async () => {
    const bad = [
      { container: 'Upper', connectionString },
      { container: 'a--b', connectionString },
      { container: 'ok-name', connectionString, blockSize: 10 },
      { container: 'ok-name', connectionString, maxConcurrency: 0 },
    ];
    for (const options of bad) {
      await expect(AzureBlobArtifactStore.connect(options)).rejects.toBeInstanceOf(
        ArtifactStoreConfigError,
      );
    }
  });
});
