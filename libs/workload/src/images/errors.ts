import { SkiffError, type ErrorKind } from '@skiff/errors';

/**
 * What went wrong talking to a registry. Every message starts with the code, names the
 * registry, the repository and the status, and says what to check.
 */
export type RegistryErrorCode =
  /** The registry (or its token service) refused the configured credentials: 401. */
  | 'RegistryUnauthorized'
  /** The credentials were accepted but may not do this (pull, push, mount): 403. */
  | 'RegistryForbidden'
  /** Unreachable, timed out, 429 or 5xx: retrying later may work. */
  | 'RegistryUnavailable'
  /** Any other answer the protocol does not allow here. */
  | 'RegistryRequestFailed'
  /** A copied blob or manifest did not have the digest it was named by. */
  | 'ImageCopyFailed';

/** Facts a {@link RegistryError} carries besides its message. */
export interface RegistryErrorDetails {
  readonly code: RegistryErrorCode;
  /** `host[:port]` of the registry (or of the token service for a token failure). */
  readonly registry: string;
  readonly repository?: string | undefined;
  /** HTTP status, when the registry answered. */
  readonly status?: number | undefined;
  readonly cause?: unknown;
}

// Credentials that do not work are the platform's configuration, not the caller's identity, so
// they are a failed precondition (an API caller seeing UNAUTHENTICATED would log in again).
const KINDS: Record<RegistryErrorCode, ErrorKind> = {
  RegistryUnauthorized: 'failed-precondition',
  RegistryForbidden: 'failed-precondition',
  RegistryUnavailable: 'unavailable',
  RegistryRequestFailed: 'failed-precondition',
  ImageCopyFailed: 'unavailable',
};

/** A container registry refused or failed a request while an environment image was resolved. */
export class RegistryError extends SkiffError {
  readonly code: RegistryErrorCode;
  readonly registry: string;
  readonly repository: string | undefined;
  readonly status: number | undefined;

  /** `message` is the text after `<code>: `. */
  constructor(message: string, details: RegistryErrorDetails) {
    super(KINDS[details.code], `${details.code}: ${message}`, { cause: details.cause });
    this.code = details.code;
    this.registry = details.registry;
    this.repository = details.repository;
    this.status = details.status;
  }
}

/** The last lines of a build log kept in an {@link ImageBuildError} message. */
export const BUILD_LOG_TAIL_LINES = 20;

/**
 * Building an environment image failed: the build job failed, or it finished without the image
 * reaching the workspace registry. The message ends with the last lines of the build log.
 */
export class ImageBuildError extends SkiffError {
  readonly code = 'ImageBuildFailed';
  /** The image that was to be built (`registry/repository:tag`). */
  readonly image: string;
  /** The build log, as far as it is known. */
  readonly logs: readonly string[];

  constructor(
    reason: string,
    details: { image: string; logs?: readonly string[]; cause?: unknown },
  ) {
    const logs = details.logs ?? [];
    const tail = logs.slice(-BUILD_LOG_TAIL_LINES);
    const log = tail.length === 0 ? '' : `\nlast lines of the build log:\n${tail.join('\n')}`;
    super('failed-precondition', `ImageBuildFailed: ${details.image}: ${reason}${log}`, {
      cause: details.cause,
    });
    this.image = details.image;
    this.logs = logs;
  }
}
