import { z } from 'zod';
import { type Caller } from './caller.js';
import { digestMatches, sha256Base64url } from './digest.js';
import { UnauthenticatedError } from '@skiff/errors';
import { InvalidAuthInputError } from './errors.js';
import { ROLES, type Role } from './permissions.js';
import { secureRandomBytes, type RandomBytes } from './random.js';

/** Prefix of every team API credential, so leaked ones are easy to recognise and scan for. */
export const TEAM_CREDENTIAL_PREFIX = 'skf_';

/** Format tag of {@link StoredTeamCredential}; bump on any incompatible change. */
export const STORED_TEAM_CREDENTIAL_FORMAT = 'skiff.team-credential/v1';

const ID_BYTES = 12;
const SECRET_BYTES = 32;
/** `skf_<24 hex id>_<43 base64url secret>`: hex ids keep the `_` separator unambiguous. */
const TOKEN = /^skf_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;
const WORKSPACE = /^(\*|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/;

/**
 * A team API credential as stored: JSON-safe, no secret. The bearer token is
 * `skf_<id>_<secret>`; only the SHA-256 of the secret is kept, which is enough because the
 * secret is 256 random bits (nothing to brute-force, so no slow KDF is needed).
 */
export interface StoredTeamCredential {
  readonly format: typeof STORED_TEAM_CREDENTIAL_FORMAT;
  /** Public lookup id (24 hex characters); also the caller's `principal`. */
  readonly id: string;
  /** The workspace it acts in (a DNS label), or `*` for every workspace. */
  readonly workspace: string;
  readonly role: Role;
  /** SHA-256 of the secret part, base64url. */
  readonly secretSha256: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** Set once revoked (ISO 8601); a revoked credential never authenticates again. */
  readonly revokedAt?: string;
  /** Free text for humans, e.g. "CI of team X". */
  readonly description?: string;
}

/** Looks credentials up by id; the control plane backs it with its store (Redis). */
export interface CredentialResolver {
  /** The record with this id, or `undefined` when there is none. */
  lookup(id: string): Promise<StoredTeamCredential | undefined>;
}

/** Options of {@link issueTeamCredential}. */
export interface IssueTeamCredentialOptions {
  /** A workspace name, or `*` for every workspace. */
  readonly workspace: string;
  readonly role: Role;
  readonly description?: string;
  /** Default now. */
  readonly now?: Date;
  /** Default `crypto.randomBytes`. */
  readonly random?: RandomBytes;
}

/** A new credential: show `token` to the user once, store `credential`. */
export interface IssuedTeamCredential {
  readonly token: string;
  readonly credential: StoredTeamCredential;
}

/**
 * Creates a team API credential.
 * @throws InvalidAuthInputError when the workspace or role is not valid.
 */
export function issueTeamCredential(options: IssueTeamCredentialOptions): IssuedTeamCredential {
  if (!WORKSPACE.test(options.workspace)) {
    throw new InvalidAuthInputError(`workspace '${options.workspace}' is not a DNS label or '*'`);
  }
  if (!(ROLES as readonly string[]).includes(options.role)) {
    throw new InvalidAuthInputError(`role '${String(options.role)}' is unknown`);
  }
  const random = options.random ?? secureRandomBytes;
  const id = Buffer.from(exactly(random(ID_BYTES), ID_BYTES)).toString('hex');
  const secret = Buffer.from(exactly(random(SECRET_BYTES), SECRET_BYTES)).toString('base64url');
  return {
    token: `${TEAM_CREDENTIAL_PREFIX}${id}_${secret}`,
    credential: {
      format: STORED_TEAM_CREDENTIAL_FORMAT,
      id,
      workspace: options.workspace,
      role: options.role,
      secretSha256: sha256Base64url(secret),
      createdAt: (options.now ?? new Date()).toISOString(),
      ...(options.description === undefined ? {} : { description: options.description }),
    },
  };
}

/** Splits a bearer token into id and secret, or `undefined` when it is not a team credential. */
export function parseTeamCredentialToken(
  token: string,
): { readonly id: string; readonly secret: string } | undefined {
  const match = TOKEN.exec(token);
  if (!match?.[1] || !match[2]) return undefined;
  return { id: match[1], secret: match[2] };
}

/** Whether `token` has the team credential shape (cheap; says nothing about validity). */
export function looksLikeTeamCredential(token: string): boolean {
  return token.startsWith(TEAM_CREDENTIAL_PREFIX);
}

/** The record marked revoked at `now` (kept, not deleted, so audit logs still resolve its id). */
export function revokeTeamCredential(
  credential: StoredTeamCredential,
  now: Date = new Date(),
): StoredTeamCredential {
  return credential.revokedAt ? credential : { ...credential, revokedAt: now.toISOString() };
}

/**
 * Resolves a bearer token to its {@link Caller}.
 * @throws UnauthenticatedError when the token is malformed, unknown, wrong or revoked; the
 *   message is the same for all, the `cause` says which.
 */
export async function authenticateTeamCredential(
  token: string,
  resolver: CredentialResolver,
): Promise<Caller> {
  const parsed = parseTeamCredentialToken(token);
  if (!parsed) throw rejected('malformed team credential');
  const credential = await resolver.lookup(parsed.id);
  // Compare even when the id is unknown, so timing does not tell which ids exist.
  const matches = digestMatches(parsed.secret, credential?.secretSha256 ?? UNKNOWN_DIGEST);
  if (!credential || credential.id !== parsed.id) throw rejected('unknown team credential');
  if (!matches) throw rejected(`wrong secret for team credential ${credential.id}`);
  if (credential.revokedAt) throw rejected(`team credential ${credential.id} is revoked`);
  return {
    via: 'team-credential',
    principal: credential.id,
    workspace: credential.workspace,
    role: credential.role,
  };
}

const UNKNOWN_DIGEST = sha256Base64url('skiff: no such credential');

const storedTeamCredentialSchema = z.strictObject({
  format: z.literal(STORED_TEAM_CREDENTIAL_FORMAT),
  id: z.string().regex(/^[0-9a-f]{24}$/),
  workspace: z.string().regex(WORKSPACE),
  role: z.enum(ROLES),
  secretSha256: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  createdAt: z.iso.datetime({ offset: true }),
  revokedAt: z.iso.datetime({ offset: true }).optional(),
  description: z.string().optional(),
});

/**
 * Validates a record read back from storage.
 * @throws InvalidAuthInputError when it is not a {@link StoredTeamCredential}.
 */
export function parseStoredTeamCredential(value: unknown): StoredTeamCredential {
  const result = storedTeamCredentialSchema.safeParse(value);
  if (!result.success) {
    throw new InvalidAuthInputError('stored team credential is malformed', { cause: result.error });
  }
  const { revokedAt, description, ...rest } = result.data;
  return {
    ...rest,
    ...(revokedAt === undefined ? {} : { revokedAt }),
    ...(description === undefined ? {} : { description }),
  };
}

/**
 * A {@link CredentialResolver} held in memory: for tests and the single-process embedded mode.
 * Records are kept as given, so revocation shows on the next lookup.
 */
export class InMemoryCredentialStore implements CredentialResolver {
  readonly #records = new Map<string, StoredTeamCredential>();

  /** Adds or replaces a record. */
  put(credential: StoredTeamCredential): void {
    this.#records.set(credential.id, credential);
  }

  /** Marks a credential revoked; returns false when the id is unknown. */
  revoke(id: string, now: Date = new Date()): boolean {
    const record = this.#records.get(id);
    if (!record) return false;
    this.#records.set(id, revokeTeamCredential(record, now));
    return true;
  }

  /** {@inheritDoc CredentialResolver.lookup} */
  lookup(id: string): Promise<StoredTeamCredential | undefined> {
    return Promise.resolve(this.#records.get(id));
  }

  /** Every record of `workspace`, revoked ones included. */
  list(workspace: string): StoredTeamCredential[] {
    return [...this.#records.values()].filter((record) => record.workspace === workspace);
  }
}

function rejected(reason: string): UnauthenticatedError {
  return new UnauthenticatedError('invalid credentials', { cause: new Error(reason) });
}

function exactly(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.byteLength !== size) {
    throw new InvalidAuthInputError(`random source returned ${bytes.byteLength} bytes`);
  }
  return bytes;
}
