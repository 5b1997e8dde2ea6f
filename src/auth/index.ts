export {
  createAccessTokenVerifier,
  AccessTokenVerifier,
  type AccessTokenVerifierOptions,
  type AccessTokenAlgorithm,
  type VerifyOptions,
} from './access-token-verifier.js';
export type { AccessTokenClaims } from './token-claims.js';
export type { JsonWebKeySet } from './jwks-key-store.js';
export {
  createServiceKeyCache,
  ServiceKeyCache,
  type ServiceKeyCacheOptions,
  type ServiceKeyValidation,
  type ServiceKeyFailureReason,
} from './service-key-cache.js';
export type { RevalidateOptions, SessionRevalidationClient } from './session-revalidator.js';
