// How one registry wants to be authenticated, learned from its answers: nothing (anonymous),
// `WWW-Authenticate: Basic`, or `WWW-Authenticate: Bearer realm=…` with tokens cached per scope
// set until shortly before they expire.
import { parseChallenges } from './challenge.js';
import type {
  AcrRegistryCredentials,
  EntraTokenCredential,
  RegistryCredentials,
} from './credentials.js';
import {
  acrTokenService,
  distributionTokenService,
  type BearerChallenge,
  type TokenGrant,
  type TokenService,
  type TokenServiceOptions,
} from './token-service.js';

/** `repository:<name>:<actions>` for a repository and the actions a request needs. */
export function repositoryScope(repository: string, actions: readonly ('pull' | 'push')[]): string {
  return `repository:${repository}:${[...new Set(actions)].sort().join(',')}`;
}

/**
 * Merges scopes naming the same resource (`repository:a:pull` + `repository:a:push` →
 * `repository:a:pull,push`) and sorts them, so equal needs share one cached token.
 */
export function mergeScopes(scopes: Iterable<string>): string[] {
  const actions = new Map<string, Set<string>>();
  for (const scope of scopes) {
    const last = scope.lastIndexOf(':');
    if (last <= 0) continue;
    const resource = scope.slice(0, last);
    const set = actions.get(resource) ?? new Set<string>();
    for (const action of scope.slice(last + 1).split(',')) if (action !== '') set.add(action);
    actions.set(resource, set);
  }
  return [...actions.entries()]
    .map(([resource, set]) => `${resource}:${[...set].sort().join(',')}`)
    .sort();
}

type Scheme =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'basic' }
  | { readonly kind: 'bearer'; readonly challenge: BearerChallenge };

/** Options of {@link RegistryAuthenticator}. */
export interface RegistryAuthenticatorOptions extends TokenServiceOptions {
  /** `host[:port]`. */
  readonly registry: string;
  /** `workspace registry`, `global registry`: for messages. */
  readonly role: string;
  readonly credentials: RegistryCredentials | undefined;
  /** Creates the default Entra credential for ACR (imports `@azure/identity` when absent). */
  readonly createDefaultCredential?: (
    credentials: AcrRegistryCredentials,
  ) => Promise<EntraTokenCredential>;
}

/** What {@link RegistryAuthenticator.challenged} concluded from a 401. */
export interface ChallengeOutcome {
  /** Whether sending the request again with fresh authorization may succeed. */
  readonly retry: boolean;
  /** The scopes to ask for on the retry (the request's, plus what the challenge named). */
  readonly scopes: readonly string[];
}

/** Authorization for the requests to one registry; shared by every request to it. */
export class RegistryAuthenticator {
  private scheme: Scheme = { kind: 'unknown' };
  // Per scope set: the pending or settled grant, and its token once known (to forget it).
  private readonly tokens = new Map<string, { grant: Promise<TokenGrant>; token?: string }>();
  private readonly tokenService: TokenService;

  constructor(private readonly options: RegistryAuthenticatorOptions) {
    const credentials = options.credentials;
    this.tokenService =
      credentials?.kind === 'acr'
        ? acrTokenService(credentials, {
            now: options.now,
            timeoutMs: options.timeoutMs,
            ...(options.createDefaultCredential === undefined
              ? {}
              : { createDefaultCredential: options.createDefaultCredential }),
          })
        : distributionTokenService(credentials, options);
  }

  /** The scheme learned so far: `unknown`, `anonymous`, `basic` or `bearer`. */
  get schemeKind(): Scheme['kind'] {
    return this.scheme.kind;
  }

  /** The registry answered a request that carried no authorization. */
  acceptedAnonymously(): void {
    if (this.scheme.kind === 'unknown') this.scheme = { kind: 'anonymous' };
  }

  /**
   * The Authorization header for a request that needs `scopes`, or undefined while the registry
   * has not asked for any.
   */
  async authorization(
    scopes: readonly string[],
    repository: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const credentials = this.options.credentials;
    switch (this.scheme.kind) {
      case 'unknown':
      case 'anonymous':
        return undefined;
      case 'basic':
        if (credentials?.kind !== 'basic') return undefined;
        return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      case 'bearer': {
        const grant = await this.token(
          this.scheme.challenge,
          mergeScopes(scopes),
          repository,
          signal,
        );
        return `Bearer ${grant.token}`;
      }
    }
  }

  /**
   * Learns from a 401 and its `WWW-Authenticate` header. A token that was refused is dropped
   * from the cache, so the retry fetches a new one.
   */
  challenged(
    header: string | null,
    scopes: readonly string[],
    sent: string | undefined,
  ): ChallengeOutcome {
    const challenges = header === null ? [] : parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const realm = bearer?.params['realm'];
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer && realm !== undefined) {
      const challenge = { realm, service: bearer.params['service'] };
      const named = bearer.params['scope']?.split(' ').filter((s) => s !== '') ?? [];
      const retryScopes = mergeScopes([...scopes, ...named]);
      if (sent?.startsWith('Bearer ')) this.forget(sent.slice('Bearer '.length));
      this.scheme = { kind: 'bearer', challenge };
      return { retry: true, scopes: retryScopes };
    }
    if (basic) {
      const hadBasic = sent?.startsWith('Basic ') ?? false;
      this.scheme = { kind: 'basic' };
      return { retry: !hadBasic && this.options.credentials?.kind === 'basic', scopes };
    }
    return { retry: false, scopes };
  }

  private token(
    challenge: BearerChallenge,
    scopes: readonly string[],
    repository: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<TokenGrant> {
    const key = `${challenge.realm}\n${challenge.service ?? ''}\n${scopes.join(' ')}`;
    const cached = this.tokens.get(key);
    if (cached) {
      return cached.grant.then((grant) =>
        grant.expiresAt > this.options.now()
          ? grant
          : this.fetch(key, challenge, scopes, repository, signal),
      );
    }
    return this.fetch(key, challenge, scopes, repository, signal);
  }

  private fetch(
    key: string,
    challenge: BearerChallenge,
    scopes: readonly string[],
    repository: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<TokenGrant> {
    const grant = this.tokenService.fetchToken({
      challenge,
      scopes,
      registry: this.options.registry,
      role: this.options.role,
      repository,
      signal,
    });
    const entry: { grant: Promise<TokenGrant>; token?: string } = { grant };
    this.tokens.set(key, entry);
    void grant.then(
      (value) => {
        entry.token = value.token;
      },
      () => {
        if (this.tokens.get(key) === entry) this.tokens.delete(key);
      },
    );
    return grant;
  }

  private forget(token: string): void {
    for (const [key, entry] of this.tokens) if (entry.token === token) this.tokens.delete(key);
  }
}
