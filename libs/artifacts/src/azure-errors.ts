import { ArtifactStoreError, ArtifactStoreUnavailableError } from './errors.js';

/** The HTTP status of an Azure SDK error (a `RestError`), or undefined. */
export function azureStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return undefined;
  return typeof error.statusCode === 'number' ? error.statusCode : undefined;
}

/** The Azure Storage error code (`BlobNotFound`, `BlobAlreadyExists`, ...), or undefined. */
export function azureErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const details = 'details' in error ? error.details : undefined;
  if (typeof details === 'object' && details !== null && 'errorCode' in details) {
    return typeof details.errorCode === 'string' ? details.errorCode : undefined;
  }
  return 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/**
 * Turns an error of the Azure SDK into `ArtifactStoreUnavailableError`: network failures
 * (refused, reset, DNS, TLS, timeouts), throttling, 5xx, and refused credentials (401/403 —
 * the store cannot be used until the configuration changes). Aborts and our own domain errors
 * pass through unchanged.
 */
export function toUnavailable(what: string, error: unknown): unknown {
  if (error instanceof ArtifactStoreError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const status = azureStatus(error);
  const code = azureErrorCode(error);
  const detail = [status, code].filter((part) => part !== undefined).join(' ');
  return new ArtifactStoreUnavailableError(
    `Azure Blob: ${what} failed${detail ? ` (${detail})` : ''}`,
    { cause: error },
  );
}

/** Runs one SDK call, mapping its failure with {@link toUnavailable}. */
export async function azureCall<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toUnavailable(what, error);
  }
}
