import { isIP } from 'node:net';
import { InvalidArgumentError } from '@skiff/errors';
import type { RegistryCredentials } from './auth/credentials.js';

/** One registry endpoint and how to authenticate to it. */
export interface RegistryEndpoint {
  /** `host[:port]` without scheme or path: `myacr.azurecr.io`, `127.0.0.1:5000`, `[::1]:5000`. */
  readonly registry: string;
  /**
   * Protocol. Default `https`, except `http` for a loopback IP address (as Docker treats
   * loopback registries as insecure ones).
   */
  readonly scheme?: 'https' | 'http';
  /** How to authenticate; default anonymous. */
  readonly credentials?: RegistryCredentials;
}

/** Where environment images live: one repository in one registry. */
export interface ImageRepositoryLocation extends RegistryEndpoint {
  /** Repository path, e.g. `skiff/environments` (lower case, `/`-separated components). */
  readonly repository: string;
}

const REPOSITORY =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const REGISTRY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?$/;

/**
 * Checks a location before any request is made.
 *
 * @throws InvalidArgumentError naming the field when the registry or repository is malformed.
 */
export function checkLocation(location: ImageRepositoryLocation, field: string): void {
  if (!REGISTRY.test(location.registry)) {
    throw new InvalidArgumentError(
      `${field}.registry: expected host[:port] without scheme or path, got ${JSON.stringify(location.registry)}`,
      { field: `${field}.registry` },
    );
  }
  if (!REPOSITORY.test(location.repository) || location.repository.length > 255) {
    throw new InvalidArgumentError(
      `${field}.repository: expected a repository path like "skiff/environments" (lower case letters, digits, separators . _ - /), got ${JSON.stringify(location.repository)}`,
      { field: `${field}.repository` },
    );
  }
}

/** True for a tag a registry accepts. */
export function isTag(text: string): boolean {
  return TAG.test(text);
}

/** True for a `sha256:<64 hex>` digest. */
export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

/** The host part of `host[:port]` (brackets of an IPv6 literal removed). */
function hostOf(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const colon = registry.lastIndexOf(':');
  return colon === -1 ? registry : registry.slice(0, colon);
}

/** True when `registry` is a loopback IP address (with or without port). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = hostOf(registry);
  if (isIP(host) === 4) return host.startsWith('127.');
  return isIP(host) === 6 && (host === '::1' || host === '0:0:0:0:0:0:0:1');
}

/** The base URL of a registry's API: `https://host[:port]`. */
export function registryOrigin(endpoint: RegistryEndpoint): string {
  const scheme = endpoint.scheme ?? (isLoopbackRegistry(endpoint.registry) ? 'http' : 'https');
  return `${scheme}://${endpoint.registry}`;
}

/** `registry/repository:tag` or `registry/repository@digest`. */
export function imageReference(location: ImageRepositoryLocation, tagOrDigest: string): string {
  const separator = isDigest(tagOrDigest) ? '@' : ':';
  return `${location.registry}/${location.repository}${separator}${tagOrDigest}`;
}
