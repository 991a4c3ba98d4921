import { InvalidArgumentError } from '@skiff/errors';
import { isServiceName } from '@skiff/config';

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** A required string field; the error names the field and says what was expected. */
export function requireString(value: string | undefined, field: string, expected: string): string {
  if (value === undefined || value.trim() === '') {
    throw new InvalidArgumentError(`${field}: required, expected ${expected}`, { field });
  }
  return value;
}

/** A DNS label of `min`–`max` characters (workspace, compute target names). */
export function requireDnsLabel(
  value: string | undefined,
  field: string,
  min = 2,
  max = 63,
): string {
  const expected = `a DNS label of ${min}-${max} characters (a-z, 0-9, '-', starting and ending with a letter or digit)`;
  const name = requireString(value, field, expected);
  if (name.length < min || name.length > max || !DNS_LABEL.test(name)) {
    throw new InvalidArgumentError(`${field}: expected ${expected}, got '${truncate(name)}'`, {
      field,
    });
  }
  return name;
}

/** A webservice name: a DNS-1123 label of 3–32 characters, as Azure ML requires. */
export function requireServiceName(value: string | undefined, field = 'name'): string {
  const expected = "a DNS-1123 label of 3-32 characters (a-z, 0-9, '-', starting with a letter)";
  const name = requireString(value, field, expected);
  if (!isServiceName(name)) {
    throw new InvalidArgumentError(`${field}: expected ${expected}, got '${truncate(name)}'`, {
      field,
    });
  }
  return name;
}

/** A version number from 1; 0 (the latest) too when `allowLatest`. */
export function requireVersion(value: number, allowLatest: boolean, field = 'version'): number {
  if (!Number.isInteger(value) || value < (allowLatest ? 0 : 1)) {
    throw new InvalidArgumentError(
      `${field}: expected ${allowLatest ? '0 (the latest) or ' : ''}a version number from 1, got ${value}`,
      { field },
    );
  }
  return value;
}

/** A page size: 0 means the default; at most `max`. */
export function pageSize(value: number, field = 'page_size', fallback = 100, max = 1_000): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new InvalidArgumentError(`${field}: expected an integer from 0 to ${max}, got ${value}`, {
      field,
    });
  }
  return value === 0 ? fallback : value;
}

/** Offset-based page tokens (opaque to callers; the lists here are small and sorted). */
export function pageOffset(token: string, field = 'page_token'): number {
  if (token === '') return 0;
  const offset = Number.parseInt(Buffer.from(token, 'base64url').toString('utf8'), 10);
  if (!Number.isInteger(offset) || offset < 0) {
    throw new InvalidArgumentError(`${field}: not a token this API returned`, { field });
  }
  return offset;
}

/** One page of `items` and the token of the next page ('' when it was the last). */
export function paginate<T>(
  items: readonly T[],
  size: number,
  offset: number,
): { page: T[]; next: string } {
  const page = items.slice(offset, offset + size);
  const nextOffset = offset + page.length;
  return {
    page,
    next: nextOffset < items.length ? Buffer.from(String(nextOffset)).toString('base64url') : '',
  };
}

const UINT64_MAX = (1n << 64n) - 1n;
const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;

/**
 * A position in a Redis stream as this API hands them out (`<ms>-<seq>`, both unsigned 64-bit),
 * `''` for "from the start", or `'0'` (the same). Checked here because Redis answers anything
 * else with an error reply that would surface as INTERNAL; the largest id is refused too, as
 * nothing can follow it and Redis rejects it as an exclusive start.
 */
export function streamPosition(value: string, field = 'after_id'): string {
  if (value === '' || value === '0') return value;
  const match = STREAM_ID.exec(value);
  const ms = match ? BigInt(match[1] ?? '') : undefined;
  const seq = match ? BigInt(match[2] ?? '') : undefined;
  if (
    ms === undefined ||
    seq === undefined ||
    ms > UINT64_MAX ||
    seq > UINT64_MAX ||
    (ms === UINT64_MAX && seq === UINT64_MAX)
  ) {
    throw new InvalidArgumentError(
      `${field}: expected a stream position '<milliseconds>-<sequence>' as returned by this API (or empty), got '${truncate(value)}'`,
      { field },
    );
  }
  return value;
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 77)}...` : value;
}
