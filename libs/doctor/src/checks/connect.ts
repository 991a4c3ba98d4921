import type { LookupFunction } from 'node:net';

/** Decides whether the doctor may open a connection to an address (tests: loopback only). */
export type ConnectPolicy = (address: string) => boolean;

/**
 * Every probe connects to an address it already has (from its DNS check or an override), so
 * Node must never resolve a name on its own; this lookup makes any such attempt fail loudly
 * instead of silently asking the system resolver.
 */
export const refuseLookup: LookupFunction = (hostname, _options, callback) => {
  const error: NodeJS.ErrnoException = new Error(
    `skiff doctor does not resolve ${hostname} through the system`,
  );
  error.code = 'ENOTFOUND';
  callback(error, '', 4);
};

/** Maps socket errors to the words a report uses. */
export function socketErrorName(error: unknown): string {
  const code =
    error !== null && typeof error === 'object' && 'code' in error ? String(error.code) : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    case 'ETIMEDOUT':
      return 'timeout';
    case undefined:
      return error instanceof Error ? error.message : String(error);
    default:
      return code;
  }
}
