import type { TokenCredential } from '@azure/identity';
import { z } from 'zod';
import { type ArtifactStore } from './artifact-store.js';
import { AzureBlobArtifactStore } from './azure-blob-store.js';
import { ArtifactStoreConfigError } from './errors.js';
import { FilesystemArtifactStore } from './filesystem-store.js';

const tokenCredential = z.custom<TokenCredential>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { getToken?: unknown }).getToken === 'function',
  'must be a TokenCredential (an object with getToken)',
);

const containerName = z
  .string()
  .regex(
    /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/,
    '3-63 lowercase letters, digits and single hyphens',
  );

/**
 * Schema of {@link ArtifactStoreConfig}, for an app's zod-parsed configuration. The Azure
 * variants are told apart by `connectionString` versus `auth: 'entra-id'`.
 */
export const artifactStoreConfigSchema = z.union([
  z.strictObject({
    kind: z.literal('filesystem'),
    /** Directory of the store; created when missing. */
    root: z.string().min(1),
  }),
  z.strictObject({
    kind: z.literal('azure-blob'),
    container: containerName,
    /** A storage connection string (shared key, or Azurite's development account). */
    connectionString: z.string().min(1),
  }),
  z.strictObject({
    kind: z.literal('azure-blob'),
    container: containerName,
    /** `https://<account>.blob.core.windows.net`. */
    accountUrl: z.url({ protocol: /^https$/ }),
    auth: z.literal('entra-id'),
    /** When absent, `createArtifactStore` asks `createDefaultCredential` for one. */
    credential: tokenCredential.optional(),
  }),
]);

/**
 * Where artifacts live: `{ kind: 'filesystem', root }` (the embedded default),
 * `{ kind: 'azure-blob', container, connectionString }`, or
 * `{ kind: 'azure-blob', container, accountUrl, auth: 'entra-id', credential? }`.
 */
export type ArtifactStoreConfig = z.input<typeof artifactStoreConfigSchema>;

/** Collaborators of {@link createArtifactStore}; tests replace them. */
export interface ArtifactStoreDependencies {
  /**
   * Called only for `auth: 'entra-id'` without a `credential`. Default: imports
   * `@azure/identity` and returns `new DefaultAzureCredential()` — which may probe the managed
   * identity endpoint, so it is never built for any other configuration.
   */
  createDefaultCredential?: () => Promise<TokenCredential>;
}

/**
 * Validates `config` and opens the store it names.
 *
 * @throws ArtifactStoreConfigError naming the first invalid field.
 * @throws ArtifactStoreUnavailableError when the storage cannot be reached.
 */
export async function createArtifactStore(
  config: ArtifactStoreConfig,
  dependencies: ArtifactStoreDependencies = {},
): Promise<ArtifactStore> {
  const parsed = artifactStoreConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'config';
    throw new ArtifactStoreConfigError(`artifact store ${field}: ${issue?.message ?? 'invalid'}`, {
      cause: parsed.error,
    });
  }
  const valid = parsed.data;
  if (valid.kind === 'filesystem') return FilesystemArtifactStore.open({ root: valid.root });
  if ('connectionString' in valid) {
    return AzureBlobArtifactStore.connect({
      container: valid.container,
      connectionString: valid.connectionString,
    });
  }
  const credential =
    valid.credential ?? (await (dependencies.createDefaultCredential ?? defaultAzureCredential)());
  return AzureBlobArtifactStore.connect({
    container: valid.container,
    accountUrl: valid.accountUrl,
    credential,
  });
}

async function defaultAzureCredential(): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential();
}
