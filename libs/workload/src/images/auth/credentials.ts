/**
 * An Entra ID (Azure AD) credential: the shape of `TokenCredential` from `@azure/core-auth`, so
 * any `@azure/identity` credential fits, and tests can pass a stand-in without creating one.
 */
export interface EntraTokenCredential {
  getToken(
    scopes: string | string[],
    options?: { tenantId?: string },
  ): Promise<{ token: string; expiresOnTimestamp: number } | null>;
}

/** Username and password: HTTP Basic, and the credentials sent to a Bearer token service. */
export interface BasicRegistryCredentials {
  readonly kind: 'basic';
  readonly username: string;
  readonly password: string;
}

/**
 * Azure Container Registry with an Entra ID identity: the Entra access token is exchanged for an
 * ACR refresh token (`POST /oauth2/exchange`), which is exchanged for access tokens per scope
 * (`POST /oauth2/token`).
 */
export interface AcrRegistryCredentials {
  readonly kind: 'acr';
  /**
   * The identity. When absent, `@azure/identity` is imported on first use and a
   * `DefaultAzureCredential` is created (workload identity, managed identity, environment, ...).
   */
  readonly credential?: EntraTokenCredential;
  /** Client id of a user-assigned managed identity, for the default credential. */
  readonly managedIdentityClientId?: string;
  /** Tenant of the identity; sent to the exchange and to `getToken`. */
  readonly tenantId?: string;
  /** Entra scope of the token to exchange; default `https://containerregistry.azure.net/.default`. */
  readonly entraScope?: string;
}

/** How a client authenticates to one registry. Absent means anonymous. */
export type RegistryCredentials = BasicRegistryCredentials | AcrRegistryCredentials;

/** Words for messages: who the client tried to be. */
export function describeCredentials(credentials: RegistryCredentials | undefined): string {
  if (credentials === undefined) return 'without credentials';
  if (credentials.kind === 'basic') return `as user ${JSON.stringify(credentials.username)}`;
  return 'with an Entra ID identity (ACR token exchange)';
}

/** What a user can check, for messages. */
export function credentialsHint(credentials: RegistryCredentials | undefined): string {
  if (credentials === undefined) return 'configure credentials for this registry';
  if (credentials.kind === 'basic') return "check the registry's username and password";
  return 'check that the identity has a pull (and, for the workspace registry, push) role on the registry';
}
