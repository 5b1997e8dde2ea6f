import type { AuditEntry } from '../observe/audit-log.js';

/**
 * The claims an adapter needs from a verified token: at least the user id in `sub`.
 * `createAccessTokenVerifier` returns a superset of this.
 */
export interface VerifiedClaims {
  /** The user id. */
  sub: string;
}

/**
 * What the adapters need from a token verifier (`createAccessTokenVerifier()` fits).
 * `verify` resolves to the claims or rejects with an `AuthError`.
 */
export interface TokenVerifierLike<C extends VerifiedClaims = VerifiedClaims> {
  verify(token: string, options?: { signal?: AbortSignal }): Promise<C>;
  /**
   * Optional synchronous answer from a cache of verified tokens: the claims, or
   * `undefined` to fall back to `verify`. Must not throw or do I/O, and must answer
   * only for a token `verify` accepted: the adapters offer it the text after
   * `Bearer ` before checking that text for whitespace.
   */
  peek?(token: string): C | undefined;
}

/** One authorization question. */
export interface AuthorizationQuery {
  userId: string;
  resourceId: string;
  action: string;
}

/** An authorization answer. */
export interface AuthorizationAnswer {
  allowed: boolean;
  reason?: string | undefined;
}

/**
 * What the adapters need from an authorization source (`createAuthorizationCache()` fits).
 * `close()`, when present, is called by the Fastify plugin on shutdown.
 */
export interface AuthorizationCheckerLike {
  check(query: AuthorizationQuery, options?: { signal?: AbortSignal }): Promise<AuthorizationAnswer>;
  /**
   * Optional synchronous answer from memory, or `undefined` to fall back to
   * `check`. May throw the same input errors as `check` (e.g. `E_INVALID_ID`); no I/O.
   */
  peek?(query: AuthorizationQuery): AuthorizationAnswer | undefined;
  close?(): Promise<unknown> | unknown;
}

/** What the adapters need from an audit log (`createAuditLog()` fits). `log` must not block. */
export interface AuditLogLike {
  log(entry: AuditEntry): void;
  close?(): Promise<unknown>;
}

/**
 * The authenticated caller, set on the request by `authenticate` (`req.auth` /
 * `request.auth`). The raw token is available as a non-enumerable `token`
 * property so that logging or serialising the object never prints it.
 */
export interface AuthInfo<C extends VerifiedClaims = VerifiedClaims> {
  /** The verified `sub`. */
  readonly userId: string;
  /** Every verified claim. */
  readonly claims: C;
  /** The raw access token, e.g. for a per-user Supabase client. Non-enumerable. */
  readonly token: string;
}
