// Shared fixtures for the adapter tests: one error per supaguard code, a small
// jose-based verifier standing in for the token verifier in unit-level tests, and
// an in-memory authorization source that counts its calls.
import { randomUUID } from 'node:crypto';
import { SignJWT, errors as joseErrors, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import {
  AbortedError,
  BulkheadRejectedError,
  CircuitOpenError,
  ConfigurationError,
  DatabaseError,
  DatabaseTimeoutError,
  DeadlineExceededError,
  ForbiddenError,
  InvalidIdentifierError,
  JwksUnavailableError,
  LoaderError,
  RateLimitedError,
  TimeoutError,
  TokenAlgorithmError,
  TokenAudienceError,
  TokenClaimsError,
  TokenExpiredError,
  TokenIssuerError,
  TokenMalformedError,
  TokenMissingError,
  TokenNotYetValidError,
  TokenSignatureError,
  type SupaguardError,
  type SupaguardErrorCode,
} from '../../src/index.js';
import type { AuthorizationAnswer, AuthorizationCheckerLike, AuthorizationQuery, TokenVerifierLike, VerifiedClaims } from '../../src/express.js';

/** A secret-looking string placed in error messages to prove bodies never echo it. */
export const LEAKY = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

/** One error instance per supaguard code. */
export function errorForEveryCode(): Record<SupaguardErrorCode, SupaguardError> {
  const timeout = { operation: 'op', elapsedMs: 5, timeoutMs: 5 };
  return {
    E_CONFIG: new ConfigurationError('url', 'is missing'),
    E_DB: new DatabaseError(`duplicate key ${LEAKY}`, { operation: 'insert', dbCode: '23505' }),
    E_DB_TIMEOUT: new DatabaseTimeoutError(timeout),
    E_TIMEOUT: new TimeoutError(timeout),
    E_DEADLINE: new DeadlineExceededError('op', 0),
    E_ABORTED: new AbortedError('op'),
    E_CIRCUIT_OPEN: new CircuitOpenError('db', 2_500),
    E_BULKHEAD_FULL: new BulkheadRejectedError('queue-full'),
    E_TOKEN_MISSING: new TokenMissingError(),
    E_TOKEN_MALFORMED: new TokenMalformedError(`bad token ${LEAKY}`),
    E_TOKEN_EXPIRED: new TokenExpiredError(),
    E_TOKEN_NOT_YET_VALID: new TokenNotYetValidError(),
    E_TOKEN_SIGNATURE: new TokenSignatureError(),
    E_TOKEN_ALGORITHM: new TokenAlgorithmError(),
    E_TOKEN_ISSUER: new TokenIssuerError(),
    E_TOKEN_AUDIENCE: new TokenAudienceError(),
    E_TOKEN_CLAIMS: new TokenClaimsError('sub must be a UUID'),
    E_JWKS_UNAVAILABLE: new JwksUnavailableError(),
    E_INVALID_ID: new InvalidIdentifierError('resourceId'),
    E_FORBIDDEN: new ForbiddenError('not a member'),
    E_LOADER: new LoaderError('loader failed'),
    E_RATE_LIMITED: new RateLimitedError(10, 1_500),
  };
}

const ISSUER = 'http://127.0.0.1/auth/v1';

/** An ES256 key pair, a token minter and a jose-based verifier (unit-level stand-in for createAccessTokenVerifier). */
export async function makeTokens(): Promise<{
  verifier: TokenVerifierLike & { calls: number };
  sign(sub: string, opts?: { expiresIn?: string | number; aud?: string }): Promise<string>;
}> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  await exportJWK(publicKey);
  const verifier = {
    calls: 0,
    async verify(token: string): Promise<VerifiedClaims> {
      verifier.calls++;
      try {
        const { payload } = await jwtVerify(token, publicKey, { issuer: ISSUER, audience: 'authenticated', algorithms: ['ES256'] });
        return payload as unknown as VerifiedClaims;
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new TokenExpiredError();
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw new TokenSignatureError();
        throw new TokenMalformedError();
      }
    },
  };
  return {
    verifier,
    sign: (sub, opts) =>
      new SignJWT({ role: 'authenticated' })
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject(sub)
        .setIssuer(ISSUER)
        .setAudience(opts?.aud ?? 'authenticated')
        .setIssuedAt()
        .setExpirationTime(opts?.expiresIn ?? '1h')
        .sign(privateKey),
  };
}

/** In-memory authorization: `grant(user, resource, action)`; counts calls; can be slowed down or made to fail. */
export class MemoryAuthorization implements AuthorizationCheckerLike {
  readonly #grants = new Set<string>();
  calls = 0;
  delayMs = 0;
  failWith: Error | undefined;
  closed = false;
  grant(userId: string, resourceId: string, action: string): this {
    this.#grants.add(`${userId}|${resourceId}|${action}`);
    return this;
  }
  async check(q: AuthorizationQuery, options?: { signal?: AbortSignal }): Promise<AuthorizationAnswer> {
    this.calls++;
    if (this.delayMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, this.delayMs);
        options?.signal?.addEventListener('abort', () => (clearTimeout(t), reject(options.signal?.reason)), { once: true });
      });
    }
    if (this.failWith) throw this.failWith;
    const allowed = this.#grants.has(`${q.userId}|${q.resourceId}|${q.action}`);
    return allowed ? { allowed } : { allowed, reason: 'not a member' };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export const newId = (): string => randomUUID();
