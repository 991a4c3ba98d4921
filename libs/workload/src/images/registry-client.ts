// A client of the OCI distribution API (the Docker Registry HTTP API v2) for what environment
// images need: look a manifest up, read and write manifests, check, mount, read and upload
// blobs. Authorization is learned from the registry's answers (see auth/authenticator.ts).
import { createHash } from 'node:crypto';
import { RegistryAuthenticator, repositoryScope } from './auth/authenticator.js';
import {
  credentialsHint,
  describeCredentials,
  type AcrRegistryCredentials,
  type EntraTokenCredential,
} from './auth/credentials.js';
import { RegistryError } from './errors.js';
import { describe, errorSummary, send, type RequestContext } from './http.js';
import { MANIFEST_ACCEPT } from './media-types.js';
import { isDigest, registryOrigin, type RegistryEndpoint } from './reference.js';

/** Options of {@link RegistryClient.connect}. */
export interface RegistryClientOptions {
  /** Who the registry is in messages, e.g. `workspace registry`; default `registry`. */
  readonly role?: string;
  /** Deadline for each answer's headers, ms; default 60000. Blob bodies have none. */
  readonly requestTimeoutMs?: number;
  /**
   * Blobs up to this size are uploaded in one request; larger ones in chunks of this size (each
   * held in memory once); default 8 MiB.
   */
  readonly chunkSize?: number;
  /** Clock for token expiry, ms since the epoch; default `Date.now`. */
  readonly now?: () => number;
  /** Creates the Entra credential for ACR when none is configured; default imports `@azure/identity`. */
  readonly createDefaultCredential?: (
    credentials: AcrRegistryCredentials,
  ) => Promise<EntraTokenCredential>;
  /** Aborts the connection check. */
  readonly signal?: AbortSignal;
}

/** A manifest as a registry describes it in a HEAD answer. */
export interface ManifestInfo {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

/** A manifest's exact bytes (its digest is over them) and media type. */
export interface ManifestContent extends ManifestInfo {
  readonly bytes: Buffer;
}

/** An open blob upload session. */
export interface BlobUpload {
  readonly repository: string;
  /** Where the next request of the session goes (the registry's last `Location`). */
  readonly location: URL;
}

/** What one blob upload took. */
export interface BlobUploadResult {
  readonly bytes: number;
  /** Requests that carried data: 1 for a monolithic upload, one per chunk otherwise. */
  readonly requests: number;
}

/** Options of one API call. */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
}

/** Manifests larger than this are refused (distribution's own limit is 4 MiB). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

interface Call {
  readonly method: string;
  readonly url: URL | string;
  readonly repository: string | undefined;
  readonly scopes: readonly string[];
  readonly operation: string;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array | undefined;
  readonly expect: readonly number[];
  /** Return a 404 answer instead of throwing. */
  readonly allowNotFound?: boolean;
  readonly signal?: AbortSignal | undefined;
}

/** Speaks the distribution API with one registry; one instance per registry and credentials. */
export class RegistryClient {
  /** `https://host[:port]`. */
  readonly origin: string;
  /** `host[:port]`. */
  readonly registry: string;
  readonly role: string;
  readonly chunkSize: number;
  private readonly timeoutMs: number;
  private readonly auth: RegistryAuthenticator;

  protected constructor(
    private readonly endpoint: RegistryEndpoint,
    options: RegistryClientOptions,
  ) {
    this.origin = registryOrigin(endpoint);
    this.registry = endpoint.registry;
    this.role = options.role ?? 'registry';
    this.timeoutMs = options.requestTimeoutMs ?? 60_000;
    this.chunkSize = options.chunkSize ?? 8 * 1024 * 1024;
    this.auth = new RegistryAuthenticator({
      registry: endpoint.registry,
      role: this.role,
      credentials: endpoint.credentials,
      now: options.now ?? Date.now,
      timeoutMs: this.timeoutMs,
      ...(options.createDefaultCredential === undefined
        ? {}
        : { createDefaultCredential: options.createDefaultCredential }),
    });
  }

  /**
   * Checks that `endpoint` speaks the API (`GET /v2/`) and learns how it authenticates.
   *
   * @throws RegistryError `RegistryUnavailable` when it cannot be reached, `RegistryRequestFailed`
   *   when it does not answer as a registry.
   */
  static async connect(
    endpoint: RegistryEndpoint,
    options: RegistryClientOptions = {},
  ): Promise<RegistryClient> {
    const client = new RegistryClient(endpoint, options);
    const context = {
      role: client.role,
      registry: client.registry,
      operation: 'API version check',
    };
    const response = await send(
      `${client.origin}/v2/`,
      { method: 'GET', timeoutMs: client.timeoutMs, signal: options.signal },
      context,
    );
    if (response.ok) {
      client.auth.acceptedAnonymously();
    } else if (response.status === 401) {
      client.auth.challenged(response.headers.get('www-authenticate'), [], undefined);
    } else {
      const summary = await errorSummary(response);
      throw new RegistryError(
        `${describe(context)} answered ${response.status} to GET /v2/ — is ${client.origin} a container registry?${summary ? ` (${summary})` : ''}`,
        {
          code: response.status >= 500 ? 'RegistryUnavailable' : 'RegistryRequestFailed',
          registry: client.registry,
          status: response.status,
        },
      );
    }
    await response.body?.cancel();
    return client;
  }

  /**
   * Whether blobs of `other`'s repositories can be mounted through this client: the same
   * registry with the same credentials (a mount needs pull rights on the source repository).
   */
  canMountFrom(other: RegistryClient): boolean {
    return (
      other === this ||
      (this.origin === other.origin && sameCredentials(this.endpoint, other.endpoint))
    );
  }

  /** The auth scheme the registry asked for so far (for diagnostics and tests). */
  get authScheme(): string {
    return this.auth.schemeKind;
  }

  /** The manifest `reference` (tag or digest) points at, or undefined when there is none. */
  async headManifest(
    repository: string,
    reference: string,
    options: CallOptions = {},
  ): Promise<ManifestInfo | undefined> {
    const response = await this.call({
      method: 'HEAD',
      url: this.url(repository, 'manifests', reference),
      repository,
      scopes: [repositoryScope(repository, ['pull'])],
      operation: `HEAD manifest ${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      expect: [200],
      allowNotFound: true,
      signal: options.signal,
    });
    if (response.status === 404) return undefined;
    const digest = response.headers.get('docker-content-digest');
    const mediaType = mediaTypeOf(response.headers.get('content-type'));
    const size = Number(response.headers.get('content-length') ?? Number.NaN);
    if (digest !== null && isDigest(digest) && mediaType !== '') return { digest, mediaType, size };
    // Some registries leave the digest out of HEAD answers: read the manifest instead.
    const content = await this.getManifest(repository, reference, options);
    return { digest: content.digest, mediaType: content.mediaType, size: content.size };
  }

  /**
   * Reads a manifest's exact bytes.
   *
   * @throws RegistryError `ImageCopyFailed` when the bytes do not hash to the digest asked for
   *   (or the one the registry announced).
   */
  async getManifest(
    repository: string,
    reference: string,
    options: CallOptions = {},
  ): Promise<ManifestContent> {
    const operation = `GET manifest ${reference}`;
    const response = await this.call({
      method: 'GET',
      url: this.url(repository, 'manifests', reference),
      repository,
      scopes: [repositoryScope(repository, ['pull'])],
      operation,
      headers: { accept: MANIFEST_ACCEPT },
      expect: [200],
      signal: options.signal,
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    const context = this.context(repository, operation);
    if (bytes.length > MAX_MANIFEST_BYTES) {
      throw new RegistryError(
        `${describe(context)}: manifest of ${bytes.length} bytes is larger than ${MAX_MANIFEST_BYTES}`,
        {
          code: 'RegistryRequestFailed',
          registry: this.registry,
          repository,
        },
      );
    }
    const digest = sha256(bytes);
    const expected = isDigest(reference)
      ? reference
      : response.headers.get('docker-content-digest');
    if (expected !== null && expected !== digest) {
      throw new RegistryError(
        `${describe(context)}: the manifest's bytes hash to ${digest}, not ${expected}`,
        {
          code: 'ImageCopyFailed',
          registry: this.registry,
          repository,
        },
      );
    }
    let mediaType = mediaTypeOf(response.headers.get('content-type'));
    if (mediaType === '' || mediaType === 'application/json') {
      mediaType = declaredMediaType(bytes) ?? mediaType;
    }
    return { bytes, digest, mediaType, size: bytes.length };
  }

  /**
   * Stores a manifest under `reference` (a tag, or its own digest) and returns the digest the
   * registry computed.
   *
   * @throws RegistryError `ImageCopyFailed` when the registry's digest is not the bytes' digest.
   */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
    options: CallOptions = {},
  ): Promise<string> {
    const operation = `PUT manifest ${reference}`;
    const response = await this.call({
      method: 'PUT',
      url: this.url(repository, 'manifests', reference),
      repository,
      scopes: [repositoryScope(repository, ['pull', 'push'])],
      operation,
      headers: { 'content-type': mediaType },
      body: bytes,
      expect: [200, 201],
      signal: options.signal,
    });
    await response.body?.cancel();
    const digest = sha256(bytes);
    const announced = response.headers.get('docker-content-digest');
    if (announced !== null && announced !== digest) {
      throw new RegistryError(
        `${describe(this.context(repository, operation))}: the registry stored digest ${announced}, expected ${digest}`,
        {
          code: 'ImageCopyFailed',
          registry: this.registry,
          repository,
        },
      );
    }
    return digest;
  }

  /** Whether the repository holds the blob. */
  async hasBlob(repository: string, digest: string, options: CallOptions = {}): Promise<boolean> {
    const response = await this.call({
      method: 'HEAD',
      url: this.url(repository, 'blobs', digest),
      repository,
      scopes: [repositoryScope(repository, ['pull'])],
      operation: `HEAD blob ${digest}`,
      expect: [200],
      allowNotFound: true,
      signal: options.signal,
    });
    return response.status !== 404;
  }

  /** Opens a blob for reading; the body streams (no deadline once the headers arrived). */
  async getBlob(
    repository: string,
    digest: string,
    options: CallOptions = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const response = await this.call({
      method: 'GET',
      url: this.url(repository, 'blobs', digest),
      repository,
      scopes: [repositoryScope(repository, ['pull'])],
      operation: `GET blob ${digest}`,
      expect: [200],
      signal: options.signal,
    });
    if (!response.body) {
      throw new RegistryError(
        `${describe(this.context(repository, `GET blob ${digest}`))}: answered without a body`,
        {
          code: 'RegistryRequestFailed',
          registry: this.registry,
          repository,
        },
      );
    }
    return response.body;
  }

  /**
   * Cross-repository mount: asks the registry to link a blob of repository `from` into
   * `repository` without copying bytes. When the registry cannot (another registry's blob, no
   * pull right on `from`), it opens an ordinary upload instead, which is returned.
   */
  async mountBlob(
    repository: string,
    digest: string,
    from: string,
    options: CallOptions = {},
  ): Promise<
    { readonly mounted: true } | { readonly mounted: false; readonly upload: BlobUpload }
  > {
    const url = new URL(`${this.origin}/v2/${repository}/blobs/uploads/`);
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', from);
    const response = await this.call({
      method: 'POST',
      url,
      repository,
      scopes: [repositoryScope(repository, ['pull', 'push']), repositoryScope(from, ['pull'])],
      operation: `mount blob ${digest} from ${from}`,
      expect: [201, 202],
      signal: options.signal,
    });
    await response.body?.cancel();
    if (response.status === 201) return { mounted: true };
    return {
      mounted: false,
      upload: {
        repository,
        location: this.nextLocation(response, repository, `mount blob ${digest}`),
      },
    };
  }

  /** Opens a blob upload session. */
  async startUpload(repository: string, options: CallOptions = {}): Promise<BlobUpload> {
    const response = await this.call({
      method: 'POST',
      url: `${this.origin}/v2/${repository}/blobs/uploads/`,
      repository,
      scopes: [repositoryScope(repository, ['pull', 'push'])],
      operation: 'start blob upload',
      expect: [202],
      signal: options.signal,
    });
    await response.body?.cancel();
    return { repository, location: this.nextLocation(response, repository, 'start blob upload') };
  }

  /**
   * Uploads a blob's bytes into an open session and completes it, verifying size and digest on
   * the way: a blob up to {@link chunkSize} goes in the completing PUT (monolithic), a larger
   * one in PATCH requests of `chunkSize` bytes. Nothing is committed when the bytes do not match.
   *
   * @throws RegistryError `ImageCopyFailed` when the bytes do not have `expected` size or digest.
   */
  async uploadBlob(
    upload: BlobUpload,
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    expected: { readonly digest: string; readonly size: number },
    options: CallOptions = {},
  ): Promise<BlobUploadResult> {
    const { repository } = upload;
    const operation = `upload blob ${expected.digest}`;
    const hash = createHash('sha256');
    let location = upload.location;
    let offset = 0;
    let requests = 0;
    let pending: Buffer | undefined;
    const monolithic = expected.size <= this.chunkSize;
    try {
      for await (const chunk of rechunk(source, this.chunkSize)) {
        hash.update(chunk);
        if (monolithic) {
          pending = pending ? Buffer.concat([pending, chunk]) : chunk;
          offset += chunk.length;
          if (offset > expected.size) break;
          continue;
        }
        const response = await this.call({
          method: 'PATCH',
          url: location,
          repository,
          scopes: [repositoryScope(repository, ['pull', 'push'])],
          operation: `${operation} (bytes ${offset}-${offset + chunk.length - 1})`,
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${offset + chunk.length - 1}`,
          },
          body: chunk,
          expect: [202],
          signal: options.signal,
        });
        await response.body?.cancel();
        location = this.nextLocation(response, repository, operation, location);
        offset += chunk.length;
        requests += 1;
      }
      const digest = `sha256:${hash.digest('hex')}`;
      if (offset !== expected.size || digest !== expected.digest) {
        throw new RegistryError(
          `${describe(this.context(repository, operation))}: the source sent ${offset} bytes hashing to ${digest}, expected ${expected.size} bytes with digest ${expected.digest}; nothing was stored`,
          { code: 'ImageCopyFailed', registry: this.registry, repository },
        );
      }
      const complete = new URL(location);
      complete.searchParams.set('digest', expected.digest);
      const response = await this.call({
        method: 'PUT',
        url: complete,
        repository,
        scopes: [repositoryScope(repository, ['pull', 'push'])],
        operation: `${operation} (complete)`,
        headers: { 'content-type': 'application/octet-stream' },
        body: pending ?? new Uint8Array(0),
        expect: [201, 204],
        signal: options.signal,
      });
      await response.body?.cancel();
      return { bytes: offset, requests: requests + 1 };
    } catch (error) {
      await this.cancelUpload(repository, location);
      throw error;
    }
  }

  /** Uploads a blob held in memory (monolithic) unless the repository has it; returns its digest. */
  async pushBlob(
    repository: string,
    bytes: Uint8Array,
    options: CallOptions = {},
  ): Promise<string> {
    const digest = sha256(bytes);
    if (await this.hasBlob(repository, digest, options)) return digest;
    const upload = await this.startUpload(repository, options);
    await this.uploadBlob(upload, [bytes], { digest, size: bytes.length }, options);
    return digest;
  }

  private async cancelUpload(repository: string, location: URL): Promise<void> {
    try {
      const authorization = await this.auth.authorization(
        [repositoryScope(repository, ['pull', 'push'])],
        repository,
        undefined,
      );
      const response = await send(
        location.href,
        {
          method: 'DELETE',
          headers: authorization ? { authorization } : {},
          timeoutMs: this.timeoutMs,
        },
        this.context(repository, 'cancel blob upload'),
      );
      await response.body?.cancel();
    } catch {
      // Best effort: registries expire abandoned uploads themselves.
    }
  }

  // Where an upload continues: the answer's Location (relative ones resolved against the
  // registry), else where it was.
  private nextLocation(
    response: Response,
    repository: string,
    operation: string,
    previous?: URL,
  ): URL {
    const location = response.headers.get('location');
    if (location === null) {
      if (previous) return previous;
      throw new RegistryError(
        `${describe(this.context(repository, operation))}: answered ${response.status} without a Location`,
        {
          code: 'RegistryRequestFailed',
          registry: this.registry,
          repository,
          status: response.status,
        },
      );
    }
    return new URL(location, this.origin);
  }

  private url(repository: string, kind: 'manifests' | 'blobs', reference: string): string {
    return `${this.origin}/v2/${repository}/${kind}/${reference}`;
  }

  private context(repository: string | undefined, operation: string): RequestContext {
    return { role: this.role, registry: this.registry, repository, operation };
  }

  // One API call: authorization as learned, one retry after a 401 challenge, statuses turned
  // into errors that say what to check.
  private async call(call: Call): Promise<Response> {
    const context = this.context(call.repository, call.operation);
    let scopes = call.scopes;
    for (let attempt = 0; ; attempt++) {
      const authorization = await this.auth.authorization(scopes, call.repository, call.signal);
      const headers = { ...call.headers, ...(authorization ? { authorization } : {}) };
      const response = await send(
        typeof call.url === 'string' ? call.url : call.url.href,
        {
          method: call.method,
          headers,
          body: call.body,
          timeoutMs: this.timeoutMs,
          signal: call.signal,
        },
        context,
      );
      if (call.expect.includes(response.status)) {
        if (authorization === undefined) this.auth.acceptedAnonymously();
        return response;
      }
      if (response.status === 404 && call.allowNotFound) {
        await response.body?.cancel();
        return response;
      }
      if (response.status === 401) {
        const outcome = this.auth.challenged(
          response.headers.get('www-authenticate'),
          scopes,
          authorization,
        );
        if (attempt === 0 && outcome.retry) {
          await response.body?.cancel();
          scopes = outcome.scopes;
          continue;
        }
      }
      throw await this.failure(response, context, authorization);
    }
  }

  private async failure(
    response: Response,
    context: RequestContext,
    authorization: string | undefined,
  ): Promise<RegistryError> {
    const summary = await errorSummary(response);
    const credentials = this.endpoint.credentials;
    const status = response.status;
    const answered = `${context.role} ${context.registry} answered ${status} for ${
      context.repository === undefined ? 'the registry' : `repository ${context.repository}`
    } (${context.operation})`;
    const details = { registry: this.registry, repository: context.repository, status };
    const said = summary ? ` — ${summary}` : '';
    if (status === 401) {
      const sent =
        authorization === undefined ? 'without credentials' : describeCredentials(credentials);
      return new RegistryError(`${answered} ${sent}${said}: ${credentialsHint(credentials)}`, {
        code: 'RegistryUnauthorized',
        ...details,
      });
    }
    if (status === 403) {
      return new RegistryError(
        `${answered} ${describeCredentials(credentials)}${said}: the credentials are valid but may not do this; grant them pull${context.operation.startsWith('HEAD') || context.operation.startsWith('GET') ? '' : ' and push'} rights on the repository`,
        { code: 'RegistryForbidden', ...details },
      );
    }
    if (status === 429 || status >= 500) {
      return new RegistryError(`${answered}${said}: try again later`, {
        code: 'RegistryUnavailable',
        ...details,
      });
    }
    return new RegistryError(`${answered}${said}`, { code: 'RegistryRequestFailed', ...details });
  }
}

function sameCredentials(a: RegistryEndpoint, b: RegistryEndpoint): boolean {
  const x = a.credentials;
  const y = b.credentials;
  if (x === undefined || y === undefined) return x === y;
  if (x.kind === 'basic' && y.kind === 'basic')
    return x.username === y.username && x.password === y.password;
  return x === y;
}

/** `sha256:<hex>` of `bytes`. */
export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function mediaTypeOf(contentType: string | null): string {
  return (contentType ?? '').replace(/;.*$/s, '').trim();
}

function declaredMediaType(bytes: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    return typeof parsed.mediaType === 'string' ? parsed.mediaType : undefined;
  } catch {
    return undefined;
  }
}

// Regroups a byte stream into chunks of exactly `size` bytes (the last one shorter).
async function* rechunk(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  size: number,
): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const piece of source) {
    let rest = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (length + rest.length >= size) {
      const take = size - length;
      parts.push(rest.subarray(0, take));
      yield Buffer.concat(parts);
      parts = [];
      length = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      parts.push(Buffer.from(rest)); // copied: the source may reuse its buffer
      length += rest.length;
    }
  }
  if (length > 0) yield Buffer.concat(parts);
}
