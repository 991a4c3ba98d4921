import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { type Caller } from './caller.js';
import { UnauthenticatedError } from '@skiff/errors';
import { InvalidAuthInputError } from './errors.js';
import { ROLES } from './permissions.js';
import { systemClock, type Clock } from './random.js';
import { DEFAULT_CLOCK_TOLERANCE_SECONDS } from './service-tokens.js';

/** Entra ID signs access tokens with RS256; nothing else is accepted. */
const ENTRA_ALGORITHMS = ['RS256'];

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or plain http only on loopback (tests and local JWKS fixtures). */
const secureUrl = z.url().refine((value) => {
  const url = new URL(value);
  return (
    url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))
  );
}, 'must be https (plain http only on loopback)');

const mappingSchema = z
  .strictObject({
    /** Required, so a multi-tenant app never admits tokens another tenant minted for itself. */
    tenantId: z.string().min(1),
    objectId: z.string().min(1).optional(),
    appId: z.string().min(1).optional(),
    appRole: z.string().min(1).optional(),
    workspace: z.string().regex(/^(\*|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/),
    role: z.enum(ROLES),
  })
  .refine(
    (mapping) => mapping.objectId ?? mapping.appId ?? mapping.appRole,
    'a mapping needs objectId, appId or appRole (a tenant alone would admit everyone in it)',
  );

/**
 * Schema of {@link EntraIdConfig}, for an app's zod-parsed environment. Every mapping names a
 * tenant and at least one of object id, app id or app role.
 */
export const entraIdConfigSchema = z.strictObject({
  /** Accepted `iss` values, e.g. `https://login.microsoftonline.com/<tenant>/v2.0`. */
  issuers: z.array(z.url()).min(1),
  /** Accepted `aud` values: the skiff API's application id URI and/or client id. */
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** Where the signing keys are, e.g. `https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys`. */
  jwksUri: secureUrl,
  /** First matching rule wins. */
  mappings: z.array(mappingSchema).min(1),
  /** Leeway for `exp`/`nbf`; default 30 s. */
  clockToleranceSeconds: z.number().int().nonnegative().optional(),
});

/** Configuration of Entra ID (Azure AD) access tokens on the gRPC API. */
export type EntraIdConfig = z.input<typeof entraIdConfigSchema>;

/** One rule of {@link EntraIdConfig.mappings}: which identities act as which role where. */
export type EntraIdRoleMapping = z.input<typeof mappingSchema>;

/** Options of {@link EntraIdAuthenticator.create}. */
export interface EntraIdAuthenticatorOptions {
  /**
   * Where keys come from; default a jose remote JWKS set on `config.jwksUri` (fetched on first
   * use, cached, re-fetched on an unknown `kid`). Nothing is fetched before a token arrives.
   */
  readonly keys?: JWTVerifyGetKey;
  /** Clock; default the wall clock. */
  readonly now?: Clock;
}

/**
 * Accepts Entra ID access tokens and maps them to a workspace and role through the configured
 * rules (tenant `tid` plus object id `oid`, application id `appid`/`azp` or an app role in
 * `roles`). Only constructed when the operator configures Entra ID.
 */
export class EntraIdAuthenticator {
  readonly #config: z.output<typeof entraIdConfigSchema>;
  readonly #keys: JWTVerifyGetKey;
  readonly #now: Clock;

  protected constructor(
    config: z.output<typeof entraIdConfigSchema>,
    keys: JWTVerifyGetKey,
    now: Clock,
  ) {
    this.#config = config;
    this.#keys = keys;
    this.#now = now;
  }

  /**
   * Validates `config` and builds the authenticator.
   * @throws InvalidAuthInputError when the configuration is not valid.
   */
  static create(
    config: EntraIdConfig,
    options: EntraIdAuthenticatorOptions = {},
  ): EntraIdAuthenticator {
    const parsed = entraIdConfigSchema.safeParse(config);
    if (!parsed.success) {
      throw new InvalidAuthInputError('Entra ID configuration is not valid', {
        cause: parsed.error,
      });
    }
    const keys = options.keys ?? createRemoteJWKSet(new URL(parsed.data.jwksUri));
    return new EntraIdAuthenticator(parsed.data, keys, options.now ?? systemClock);
  }

  /**
   * Verifies `token` (signature, issuer, audience, expiry) and maps it to a caller.
   * @throws UnauthenticatedError when verification fails or no rule matches.
   */
  async authenticate(token: string): Promise<Caller> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, {
        algorithms: ENTRA_ALGORITHMS,
        issuer: this.#config.issuers,
        audience: this.#config.audience,
        requiredClaims: ['exp', 'tid'],
        clockTolerance: this.#config.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
        currentDate: this.#now(),
      }));
    } catch (cause) {
      throw new UnauthenticatedError('invalid credentials', { cause });
    }
    const identity = readIdentity(payload);
    const mapping = this.#config.mappings.find(
      (rule) =>
        rule.tenantId === identity.tenantId &&
        (rule.objectId === undefined || rule.objectId === identity.objectId) &&
        (rule.appId === undefined || rule.appId === identity.appId) &&
        (rule.appRole === undefined || identity.appRoles.includes(rule.appRole)),
    );
    const principal = `entra:${identity.tenantId}/${identity.objectId ?? identity.appId ?? '?'}`;
    if (!mapping) {
      throw new UnauthenticatedError('invalid credentials', {
        cause: new Error(`no Entra ID mapping for ${principal}`),
      });
    }
    return { via: 'entra-id', principal, workspace: mapping.workspace, role: mapping.role };
  }
}

function readIdentity(payload: JWTPayload): {
  tenantId: string;
  objectId: string | undefined;
  appId: string | undefined;
  appRoles: readonly string[];
} {
  const text = (value: unknown): string | undefined =>
    typeof value === 'string' && value.length > 0 ? value : undefined;
  const roles = payload['roles'];
  return {
    tenantId: text(payload['tid']) ?? '',
    objectId: text(payload['oid']),
    // v1 tokens carry `appid`, v2 tokens `azp`.
    appId: text(payload['appid']) ?? text(payload['azp']),
    appRoles: Array.isArray(roles) ? roles.filter((role) => typeof role === 'string') : [],
  };
}
