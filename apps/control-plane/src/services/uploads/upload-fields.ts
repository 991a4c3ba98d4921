import { isArtifactDigest } from '@skiff/artifacts';
import { InvalidArgumentError, ResourceExhaustedError } from '@skiff/errors';

const MODEL_NAME = /^[A-Za-z0-9._-]{1,255}$/;
/** Longest model file path accepted, in UTF-8 bytes (PATH_MAX on Linux). */
const MAX_PATH_BYTES = 4_096;

/** A content digest as the API writes it: `sha256:` and 64 lowercase hex digits. */
export function requireSha256Digest(value: string, field: string): string {
  if (!isArtifactDigest(value)) {
    throw new InvalidArgumentError(
      `${field}: expected 'sha256:' and 64 lowercase hex digits, got '${truncate(value)}'`,
      { field },
    );
  }
  return value;
}

/**
 * A declared upload size: a non-negative integer, refused as RESOURCE_EXHAUSTED (naming the
 * limit) when over `limit` — checked on the header, before the first byte is read.
 */
export function requireUploadSize(value: number, field: string, limit: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${field}: expected a byte count of 0 or more, got ${value}`, {
      field,
    });
  }
  if (value > limit) {
    throw new ResourceExhaustedError(
      `${field}: ${value} bytes is over this server's upload limit of ${limit} bytes (SKIFF_MAX_UPLOAD_BYTES)`,
      { field },
    );
  }
  return value;
}

/**
 * A model name: 1–255 letters, digits, '-', '_' and '.'. Names of dots only ('.', '..') are
 * refused too: replicas unpack each model into a directory named after it.
 */
export function requireModelName(value: string, field: string): string {
  if (!MODEL_NAME.test(value) || /^\.+$/.test(value)) {
    throw new InvalidArgumentError(
      `${field}: expected 1-255 characters of letters, digits, '-', '_' and '.' (not only dots), got '${truncate(value)}'`,
      { field },
    );
  }
  return value;
}

/**
 * A file path inside a model tree, as modelDigest produces them: relative POSIX, no empty,
 * '.' or '..' segment, no leading or trailing '/', no NUL.
 */
export function requireModelPath(value: string, field: string): string {
  const problem =
    value === ''
      ? 'required'
      : value.startsWith('/')
        ? 'must be relative (no leading /)'
        : value.includes('\0')
          ? 'must not contain NUL'
          : Buffer.byteLength(value, 'utf8') > MAX_PATH_BYTES
            ? `longer than ${MAX_PATH_BYTES} bytes`
            : value.split('/').some((segment) => segment === '..')
              ? "must not contain '..'"
              : value.split('/').some((segment) => segment === '' || segment === '.')
                ? "must not contain empty or '.' segments"
                : undefined;
  if (problem) {
    throw new InvalidArgumentError(`${field}: ${problem}, got '${truncate(value)}'`, { field });
  }
  return value;
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 77)}...` : value;
}
