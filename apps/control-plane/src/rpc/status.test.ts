import { status } from '@grpc/grpc-js';
import {
  ArtifactNotFoundError,
  ArtifactStoreUnavailableError,
  ArtifactTooLargeError,
  DigestMismatchError,
  InvalidDigestError,
} from '@skiff/artifacts';
import { NotFoundError } from '@skiff/errors';
import { describe, expect, it } from 'vitest';
import { toServiceError } from './status.js';

describe('toServiceError', () => {
  const digest = `sha256:${'a'.repeat(64)}`;

  it.each([
    ['DigestMismatchError', new DigestMismatchError(digest, digest), status.INVALID_ARGUMENT],
    ['InvalidDigestError', new InvalidDigestError('not a digest'), status.INVALID_ARGUMENT],
    ['ArtifactTooLargeError', new ArtifactTooLargeError(10), status.RESOURCE_EXHAUSTED],
    ['ArtifactNotFoundError', new ArtifactNotFoundError(digest), status.NOT_FOUND],
    [
      'ArtifactStoreUnavailableError',
      new ArtifactStoreUnavailableError('EACCES /srv/artifacts/tmp'),
      status.UNAVAILABLE,
    ],
    ['a domain error', new NotFoundError("model 'x' not found"), status.NOT_FOUND],
    ['anything else', new Error('boom at /srv/secret'), status.INTERNAL],
  ])('maps %s to its status code', (_what, error, code) => {
    expect(toServiceError(error, 'r1').code).toBe(code);
  });

  it('never shows the text of an unavailable store or an unknown error', () => {
    expect(
      toServiceError(new ArtifactStoreUnavailableError('EACCES /srv/a'), 'r1').details,
    ).not.toContain('/srv');
    expect(toServiceError(new Error('boom at /srv/secret'), 'r1').details).not.toContain('/srv');
    expect(toServiceError(new ArtifactTooLargeError(10), 'r1').details).toContain('10 bytes');
  });
});
