/**
 * @skiff/auth: service keys, service tokens (JWT), team API credentials, Entra ID access
 * tokens, roles and permissions, and the gRPC auth interceptor.
 */
export { InvalidAuthInputError, SecretUnsealError } from './errors.js';
export { secureRandomBytes, systemClock, type RandomBytes, type Clock } from './random.js';
export { MasterKeyRing, generateMasterKeySpec, type MasterKeyRingOptions } from './master-keys.js';
export {
  KEY_SLOTS,
  SERVICE_KEY_BYTES,
  MIN_CALLER_KEY_LENGTH,
  MAX_CALLER_KEY_LENGTH,
  STORED_SERVICE_KEYS_FORMAT,
  generateServiceKey,
  assertAcceptableServiceKey,
  createServiceKeys,
  regenerateServiceKey,
  verifyServiceKey,
  serviceKeyDigests,
  revealServiceKeys,
  resealServiceKeys,
  parseStoredServiceKeys,
  type KeySlot,
  type StoredServiceKey,
  type StoredServiceKeys,
  type ServiceKeyDigests,
  type ServiceKeyPair,
  type SetServiceKeyOptions,
  type CreateServiceKeysOptions,
  type RegenerateServiceKeyOptions,
} from './service-keys.js';
export {
  SERVICE_TOKEN_ALGORITHM,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  STORED_TOKEN_SIGNING_KEYS_FORMAT,
  TokenSigningKeyRing,
  type TokenSigningKeyRingOptions,
  type StoredTokenSigningKey,
  type StoredTokenSigningKeys,
} from './signing-keys.js';
export {
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  serviceTokenAudience,
  issueServiceToken,
  verifyServiceToken,
  ServiceTokenVerifier,
  type ServiceRef,
  type IssueServiceTokenOptions,
  type IssuedServiceToken,
  type ServiceTokenClaims,
  type ServiceTokenVerifierOptions,
  type VerifyServiceTokenOptions,
} from './service-tokens.js';
export {
  ROLES,
  PERMISSIONS,
  ROLE_PERMISSIONS,
  can,
  isRole,
  isPermission,
  type Role,
  type Permission,
} from './permissions.js';
export { ALL_WORKSPACES, canAccessWorkspace, assertAllowed, type Caller } from './caller.js';
export {
  TEAM_CREDENTIAL_PREFIX,
  STORED_TEAM_CREDENTIAL_FORMAT,
  issueTeamCredential,
  parseTeamCredentialToken,
  looksLikeTeamCredential,
  revokeTeamCredential,
  authenticateTeamCredential,
  parseStoredTeamCredential,
  InMemoryCredentialStore,
  type StoredTeamCredential,
  type CredentialResolver,
  type IssueTeamCredentialOptions,
  type IssuedTeamCredential,
} from './team-credentials.js';
export {
  entraIdConfigSchema,
  EntraIdAuthenticator,
  type EntraIdConfig,
  type EntraIdRoleMapping,
  type EntraIdAuthenticatorOptions,
} from './entra-id.js';
export {
  createBearerAuthenticator,
  bearerToken,
  type BearerAuthenticator,
  type BearerAuthenticatorOptions,
} from './bearer.js';
export {
  createAuthInterceptor,
  callerOf,
  requireCaller,
  grpcStatusOf,
  type MethodPermissions,
  type AuthRejection,
  type AuthInterceptorOptions,
} from './grpc-interceptor.js';
