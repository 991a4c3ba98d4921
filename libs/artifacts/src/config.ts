import type { TokenCredential } from '@azure/identity';
import { z } from 'zod';
import { type ArtifactStore } from './artifact-store.js';
import { AzureBlobArtifactStore, type AzureBlobStoreCommonOptions } from './azure-blob-store.js';
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

const filesystemSchema = z.strictObject({
  kind: z.literal('filesystem'),
  root: z.string().min(1),
});

const azureBlobSchema = z
  .strictObject({
    kind: z.literal('azure-blob'),
    container: containerName,
    connectionString: z.string().min(1).optional(),
    accountUrl: z.url({ protocol: /^https$/, error: 'must be an https URL' }).optional(),
    auth: z.literal('entra-id').optional(),
    credential: tokenCredential.optional(),
  })
  .superRefine((value, context) => {
    const entraFields = (['accountUrl', 'auth', 'credential'] as const).filter(
      (key) => value[key] !== undefined,
    );
    if (value.connectionString !== undefined) {
      for (const key of entraFields) {
        context.addIssue({
          code: 'custom',
          path: [key],
          message: 'cannot be combined with connectionString',
        });
      }
    } else if (value.auth !== 'entra-id') {
      context.addIssue({
        code: 'custom',
        path: ['auth'],
        message: "give either connectionString, or accountUrl with auth: 'entra-id'",
      });
    } else if (value.accountUrl === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['accountUrl'],
        message: "required with auth: 'entra-id'",
      });
    }
  });

/**
 * Schema of {@link ArtifactStoreConfig}, for an app's zod-parsed configuration; every issue
 * names its field.
 */
export const artifactStoreConfigSchema = z.discriminatedUnion('kind', [
  filesystemSchema,
  azureBlobSchema,
]);

/** The embedded default: artifacts as files under `root` (created when missing). */
export interface FilesystemArtifactStoreConfig {
  kind: 'filesystem';
  root: string;
}

/** Azure Blob with a storage connection string (shared key; Azurite's development account). */
export interface AzureBlobConnectionStringConfig {
  kind: 'azure-blob';
  /** 3–63 lowercase letters, digits and single hyphens; created when missing. */
  container: string;
  connectionString: string;
}

/** Azure Blob with Entra ID (managed identity, workload identity, az login...). */
export interface AzureBlobEntraIdConfig {
  kind: 'azure-blob';
  /** 3–63 lowercase letters, digits and single hyphens; created when missing. */
  container: string;
  /** `https://<account>.blob.core.windows.net`. */
  accountUrl: string;
  auth: 'entra-id';
  /** When absent, `createArtifactStore` asks `createDefaultCredential` for one. */
  credential?: TokenCredential;
}

/** Where artifacts live. Validated by {@link artifactStoreConfigSchema}. */
export type ArtifactStoreConfig =
  FilesystemArtifactStoreConfig | AzureBlobConnectionStringConfig | AzureBlobEntraIdConfig;

/** Collaborators of {@link createArtifactStore}; tests replace them. */
export interface ArtifactStoreDependencies {
  /**
   * Called only for `auth: 'entra-id'` without a `credential`. Default: imports
   * `@azure/identity` and returns `new DefaultAzureCredential()` — which may probe the managed
   * identity endpoint, so it is never built for any other configuration.
   */
  createDefaultCredential?: () => Promise<TokenCredential>;
  /** Tuning for an Azure Blob store (block size, concurrency, retries...); defaults otherwise. */
  azureBlob?: Omit<AzureBlobStoreCommonOptions, 'container'>;
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
  const tuning = { ...dependencies.azureBlob, container: valid.container };
  if (valid.connectionString !== undefined) {
    return AzureBlobArtifactStore.connect({ ...tuning, connectionString: valid.connectionString });
  }
  const accountUrl = valid.accountUrl;
  // Unreachable: the schema's refinement requires accountUrl without a connection string.
  if (accountUrl === undefined)
    throw new ArtifactStoreConfigError('artifact store accountUrl: required');
  const credential =
    valid.credential ?? (await (dependencies.createDefaultCredential ?? defaultAzureCredential)());
  return AzureBlobArtifactStore.connect({ ...tuning, accountUrl, credential });
}

async function defaultAzureCredential(): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential();
}
