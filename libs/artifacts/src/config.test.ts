import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AccessToken, type TokenCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, inject, it } from 'vitest';
import { AzureBlobArtifactStore } from './azure-blob-store.js';
import { createArtifactStore, type ArtifactStoreConfig } from './config.js';
import { ArtifactStoreConfigError, ArtifactStoreUnavailableError } from './errors.js';
import { FilesystemArtifactStore } from './filesystem-store.js';

const connectionString = inject('azuriteConnectionString');

function stubCredential(calls: string[]): TokenCredential {
  return {
    getToken: (scope): Promise<AccessToken> => {
      calls.push([scope].flat().join(' '));
      return Promise.resolve({ token: 'stub', expiresOnTimestamp: Date.now() + 60_000 });
    },
  };
}

describe('createArtifactStore', () => {
  it('opens a filesystem store, creating its root', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'skiff-artifacts-config-'));
    try {
      const root = join(parent, 'store');
      const store = await createArtifactStore({ kind: 'filesystem', root });
      expect(store).toBeInstanceOf(FilesystemArtifactStore);
      expect((await stat(join(root, 'sha256'))).isDirectory()).toBe(true);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('connects to Azure Blob with a connection string, without building a credential', async () => {
    let built = 0;
    const container = `test-${randomUUID()}`;
    const store = await createArtifactStore(
      { kind: 'azure-blob', container, connectionString },
      { createDefaultCredential: () => Promise.resolve(stubCredential([(built++).toString()])) },
    );
    try {
      expect(store).toBeInstanceOf(AzureBlobArtifactStore);
      expect(built).toBe(0);
    } finally {
      await BlobServiceClient.fromConnectionString(connectionString)
        .getContainerClient(container)
        .deleteIfExists();
    }
  });

  it('uses the given credential for entra-id, and builds the default one only when none is given', async () => {
    const given: string[] = [];
    const fallback: string[] = [];
    let built = 0;
    const dependencies = {
      azureBlob: { retryOptions: { maxTries: 1 } },
      createDefaultCredential: () => {
        built++;
        return Promise.resolve(stubCredential(fallback));
      },
    };
    // A loopback port with nothing on it: connecting fails after the token was requested.
    const accountUrl = 'https://127.0.0.1:9/devstoreaccount1';
    const base = { kind: 'azure-blob', container: 'models', accountUrl, auth: 'entra-id' } as const;

    await expect(
      createArtifactStore({ ...base, credential: stubCredential(given) }, dependencies),
    ).rejects.toBeInstanceOf(ArtifactStoreUnavailableError);
    expect(built).toBe(0);
    expect(given.length).toBeGreaterThan(0);
    expect(given.every((scope) => scope === 'https://storage.azure.com/.default')).toBe(true);

    await expect(createArtifactStore(base, dependencies)).rejects.toBeInstanceOf(
      ArtifactStoreUnavailableError,
    );
    expect(built).toBe(1);
    expect(fallback.length).toBeGreaterThan(0);
  });

  it.each<[string, unknown, string]>([
    ['unknown kind', { kind: 's3', bucket: 'x' }, 'kind'],
    ['empty root', { kind: 'filesystem', root: '' }, 'root'],
    ['extra field', { kind: 'filesystem', root: '/tmp/x', extra: 1 }, 'extra'],
    [
      'bad container',
      { kind: 'azure-blob', container: 'Models', connectionString: 'x' },
      'container',
    ],
    [
      'http account url',
      {
        kind: 'azure-blob',
        container: 'models',
        accountUrl: 'http://example.invalid',
        auth: 'entra-id',
      },
      'accountUrl',
    ],
    [
      'credential without getToken',
      {
        kind: 'azure-blob',
        container: 'models',
        accountUrl: 'https://a.invalid',
        auth: 'entra-id',
        credential: {},
      },
      'credential',
    ],
    ['azure without auth', { kind: 'azure-blob', container: 'models' }, 'auth'],
    [
      'both auth methods',
      {
        kind: 'azure-blob',
        container: 'models',
        connectionString: 'x',
        accountUrl: 'https://a.invalid',
      },
      'accountUrl',
    ],
    [
      'entra-id without accountUrl',
      { kind: 'azure-blob', container: 'models', auth: 'entra-id' },
      'accountUrl',
    ],
  ])('rejects %s', async (_name, config, field) => {
    const created = createArtifactStore(config as ArtifactStoreConfig);
    await expect(created).rejects.toBeInstanceOf(ArtifactStoreConfigError);
    await expect(created).rejects.toThrow(field);
  });
});
