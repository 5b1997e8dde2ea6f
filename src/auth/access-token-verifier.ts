import { LRUCache } from 'lru-cache';
import {
  ConfigurationError,
  isAuthError,
  TokenAlgorithmError,
  TokenMalformedError,
  TokenMissingError,
  TokenSignatureError,
} from '../errors.js';
import { channels } from '../observe/channels.js';
import { parseCompactJws } from './compact-jws.js';
import { fingerprint } from './fingerprint.js';
import { JwksKeyStore, type JsonWebKeySet, type JwksAlgorithm, type StoredKey } from './jwks-key-store.js';
import { SessionRevalidator, type RevalidateOptions } from './session-revalidator.js';
import { normaliseSupabaseUrl } from './supabase-url.js';
import { checkClaims, type AccessTokenClaims, type ClaimRules } from './token-claims.js';

/** Algorithms the verifier can accept. `none` never is. */
export type AccessTokenAlgorithm = JwksAlgorithm | 'HS256';

/** Options of {@link createAccessTokenVerifier}. At least one key source is required. */
export interface AccessTokenVerifierOptions {
  /** Project URL: keys from `<url>/auth/v1/.well-known/jwks.json`, expected issuer `<url>/auth/v1`. */
  supabaseUrl?: string;
  /** A JWKS URL (overrides the one derived from `supabaseUrl`). */
  jwksUrl?: string;
  /** An inline, static JWKS (never fetched). */
  jwks?: JsonWebKeySet;
  /** The legacy JWT secret: enables HS256, checked only against this secret (≥ 32 bytes). */
  jwtSecret?: string | Uint8Array;
  /** Accepted issuer(s). @default `<supabaseUrl>/auth/v1` (required without `supabaseUrl`) */
  issuer?: string | readonly string[];
  /** Accepted audience(s). @default 'authenticated' */
  audience?: string | readonly string[];
  /** Narrows the algorithms that follow from the key sources (never widens them). */
  algorithms?: readonly AccessTokenAlgorithm[];
  /** Allowed skew for `nbf` / `iat`, in seconds (`exp` gets none). @default 5 */
  clockToleranceSec?: number;
  /** Longest accepted token, in characters. @default 8192 */
  maxTokenLength?: number;
  /** Longest a verified token stays cached (never past its `exp`); 0 disables the cache. @default 60000 */
  cacheTtlMs?: number;
  /** Entries in the verified-token cache. @default 10000 */
  cacheMaxEntries?: number;
  /** Limit of one JWKS fetch; a waiting request is also bounded by its deadline. @default 3000 */
  jwksTimeoutMs?: number;
  /** An unknown `kid` refetches the JWKS at most once per this. @default 30000 */
  jwksCooldownMs?: number;
  /** Keys are never used when older than this (at most 600000). @default 600000 */
  jwksMaxAgeMs?: number;
  /** Clock in ms since the epoch (for tests). @default Date.now */
  now?: () => number;
  /**
   * Also confirm each session with the auth server (`auth.getUser`) at most once
   * per `session_id` per `everyMs`, so a revoked session stops working within
   * `everyMs` instead of at `exp`. Fails closed by default. See {@link RevalidateOptions}.
   */
  revalidate?: RevalidateOptions;
}

/** Per-call options of {@link AccessTokenVerifier.verify}. */
export interface VerifyOptions {
  /** Abandons a JWKS wait (the result is then `E_JWKS_UNAVAILABLE`). */
  signal?: AbortSignal | undefined;
}

interface CachedToken {
  readonly claims: AccessTokenClaims;
  /** ms; min(exp, verifiedAt + cacheTtlMs). */
  readonly expiresAt: number;
  readonly keyId: string;
}

const SECRET_KEY_ID = '\u0000jwt-secret';

/**
 * Verifies Supabase access tokens locally: hard input limits, an algorithm
 * allowlist derived from the key sources, signature by jose, then the claim
 * rules. Verified tokens are cached by SHA-256 fingerprint until
 * `min(exp, cacheTtlMs)` or until their key leaves the JWKS.
 *
 * @example
 * ```ts
 * const verifier = new AccessTokenVerifier({ supabaseUrl: process.env.SUPABASE_URL });
 * const claims = await verifier.verify(bearer);
 * ```
 */
export class AccessTokenVerifier {
  private readonly rules: ClaimRules;
  private readonly allowed: ReadonlySet<string>;
  private readonly store: JwksKeyStore | undefined;
  private readonly secretKey: Promise<StoredKey> | undefined;
  private readonly cache: LRUCache<string, CachedToken> | undefined;
  private readonly inflight = new Map<string, Promise<AccessTokenClaims>>();
  private readonly now: () => number;
  private readonly cacheTtlMs: number;
  private readonly maxTokenLength: number;
  private readonly revalidator: SessionRevalidator | undefined;

  constructor(options: AccessTokenVerifierOptions) {
    const o = options ?? {};
    this.now = o.now ?? Date.now;
    const base = o.supabaseUrl === undefined ? undefined : normaliseSupabaseUrl(o.supabaseUrl, 'supabaseUrl');
    if (o.jwksUrl !== undefined && o.jwks !== undefined) throw new ConfigurationError('jwks', 'cannot be combined with jwksUrl');
    const jwksUrl = o.jwks !== undefined ? undefined : o.jwksUrl !== undefined ? normaliseSupabaseUrl(o.jwksUrl, 'jwksUrl') : base && `${base}/auth/v1/.well-known/jwks.json`;
    if (jwksUrl === undefined && o.jwks === undefined && o.jwtSecret === undefined) {
      throw new ConfigurationError('options', 'need a key source: supabaseUrl, jwksUrl, jwks or jwtSecret');
    }
    const issuers = o.issuer === undefined ? (base === undefined ? [] : [`${base}/auth/v1`]) : [o.issuer].flat();
    if (issuers.length === 0 || !issuers.every((i) => typeof i === 'string' && i !== '')) {
      throw new ConfigurationError('issuer', 'is required (non-empty) when supabaseUrl is not set');
    }
    const audiences = [o.audience ?? 'authenticated'].flat();
    if (audiences.length === 0 || !audiences.every((a) => typeof a === 'string' && a !== '')) throw new ConfigurationError('audience', 'must be non-empty strings');
    const clockToleranceSec = positive(o.clockToleranceSec, 5, 'clockToleranceSec', 300);
    this.rules = { issuers, audiences, clockToleranceSec };
    this.maxTokenLength = positive(o.maxTokenLength, 8192, 'maxTokenLength', 64 * 1024);
    this.cacheTtlMs = positive(o.cacheTtlMs, 60_000, 'cacheTtlMs', 24 * 3600_000);
    const maxAgeMs = positive(o.jwksMaxAgeMs, 600_000, 'jwksMaxAgeMs', 600_000);

    const fromSources = new Set<string>();
    if (jwksUrl !== undefined || o.jwks !== undefined) {
      fromSources.add('ES256').add('RS256');
      this.store = new JwksKeyStore({
        url: jwksUrl,
        jwks: o.jwks,
        timeoutMs: positive(o.jwksTimeoutMs, 3_000, 'jwksTimeoutMs', 60_000),
        cooldownMs: positive(o.jwksCooldownMs, 30_000, 'jwksCooldownMs', 3600_000),
        maxAgeMs,
        refreshAfterMs: maxAgeMs / 2,
        retryAfterFailureMs: 2_000,
        now: this.now,
        onKeysChanged: (ids) => this.dropTokensNotSignedBy(ids),
      });
    }
    if (o.jwtSecret !== undefined) {
      fromSources.add('HS256');
      const bytes = typeof o.jwtSecret === 'string' ? new TextEncoder().encode(o.jwtSecret) : o.jwtSecret;
      if (!(bytes instanceof Uint8Array) || bytes.length < 32) throw new ConfigurationError('jwtSecret', 'must be at least 32 bytes');
      this.secretKey = importSecret(bytes);
      this.secretKey.catch(() => undefined);
    }
    this.allowed = o.algorithms === undefined ? fromSources : new Set(o.algorithms.filter((alg) => fromSources.has(alg)));
    if (this.allowed.size === 0) throw new ConfigurationError('algorithms', 'leaves no algorithm the key sources can verify');
    const max = positive(o.cacheMaxEntries, 10_000, 'cacheMaxEntries', 10_000_000);
    this.cache = this.cacheTtlMs > 0 && max > 0 ? new LRUCache<string, CachedToken>({ max }) : undefined;
    this.revalidator = o.revalidate === undefined ? undefined : new SessionRevalidator(o.revalidate, this.now);
  }

  /**
   * Releases what the verifier holds beyond memory (the revalidation circuit breaker).
   *
   * @example
   * ```ts
   * app.addHook('onClose', async () => verifier.dispose());
   * ```
   */
  dispose(): void {
    this.revalidator?.dispose();
  }

  /** HTTP requests made to the JWKS endpoint so far (metrics, tests). */
  get jwksFetchCount(): number {
    return this.store?.fetchCount ?? 0;
  }

  /**
   * Verifies `token` and returns its claims (deeply frozen, shared by cache hits).
   *
   * @param token - The raw bearer token (without `Bearer `); empty, `null` or `undefined` is `E_TOKEN_MISSING`.
   * @param options - `signal` abandons a JWKS wait.
   * @throws {@link AuthError} — and nothing else — with a stable code: `E_TOKEN_MISSING`,
   *   `E_TOKEN_MALFORMED`, `E_TOKEN_EXPIRED`, `E_TOKEN_NOT_YET_VALID`, `E_TOKEN_SIGNATURE`,
   *   `E_TOKEN_ALGORITHM`, `E_TOKEN_ISSUER`, `E_TOKEN_AUDIENCE`, `E_TOKEN_CLAIMS`, `E_JWKS_UNAVAILABLE`.
   * @example
   * ```ts
   * const { sub, session_id } = await verifier.verify(token, { signal });
   * ```
   */
  verify(token: string | null | undefined, options?: VerifyOptions): Promise<AccessTokenClaims> {
    if (typeof token !== 'string' || token === '') return Promise.reject(new TokenMissingError());
    if (token.length > this.maxTokenLength) {
      return Promise.reject(new TokenMalformedError(`The access token is longer than ${this.maxTokenLength} characters`));
    }
    const id = fingerprint(token);
    const claims = this.cachedClaims(id);
    let verified: Promise<AccessTokenClaims> | undefined = claims === undefined ? undefined : Promise.resolve(claims);
    if (this.cache !== undefined) publishCacheOutcome(claims !== undefined);
    if (verified === undefined) {
      verified = this.inflight.get(id);
      if (verified === undefined) {
        verified = this.verifyUncached(token, id, options?.signal).finally(() => this.inflight.delete(id));
        this.inflight.set(id, verified);
      }
    }
    const revalidator = this.revalidator;
    if (revalidator === undefined) return verified;
    return verified.then((claims) => revalidator.confirm(token, claims, options?.signal).then(() => claims));
  }

  /**
   * The claims of a token verified before, answered synchronously from the
   * verified-token cache: unexpired, signed by a key still published and, with
   * `revalidate`, a session confirmed within `everyMs`. `undefined` otherwise
   * (never verified, expired, evicted, bad input) — then call
   * {@link AccessTokenVerifier.verify}, which gives the typed error. Never throws
   * and does no I/O; the framework adapters use it so a cached token costs no promise.
   *
   * @param token - The raw bearer token.
   * @example
   * ```ts
   * const claims = verifier.peek(bearer) ?? (await verifier.verify(bearer));
   * ```
   */
  peek(token: string | null | undefined): AccessTokenClaims | undefined {
    if (typeof token !== 'string' || token === '' || token.length > this.maxTokenLength || this.cache === undefined) return undefined;
    const claims = this.cachedClaims(fingerprint(token));
    if (claims === undefined || (this.revalidator !== undefined && !this.revalidator.isConfirmed(token, claims))) return undefined;
    // Only a hit is published: after a miss the caller runs verify(), which publishes it once.
    publishCacheOutcome(true);
    return claims;
  }

  /** A cached token's claims if still valid (a stale entry is dropped). */
  private cachedClaims(id: string): AccessTokenClaims | undefined {
    const cached = this.cache?.get(id);
    if (cached === undefined) return undefined;
    if (this.now() >= cached.expiresAt || !this.keyStillPublished(cached.keyId)) {
      this.cache?.delete(id);
      return undefined;
    }
    return cached.claims;
  }

  private keyStillPublished(keyId: string): boolean {
    return keyId === SECRET_KEY_ID || (this.store?.has(keyId) ?? false);
  }

  private async verifyUncached(token: string, id: string, signal: AbortSignal | undefined): Promise<AccessTokenClaims> {
    try {
      const { header, payload, signature, signingInput } = parseCompactJws(token, { maxLength: this.maxTokenLength });
      const alg = header.alg;
      if (!this.allowed.has(alg)) throw new TokenAlgorithmError(`The access token algorithm is not allowed here`);
      // Raw ECDSA P-256 signatures are exactly 64 bytes; DER or truncated ones are refused before crypto.
      if (signature.length === 0 || (alg === 'ES256' && signature.length !== 64)) throw new TokenSignatureError();
      const candidates = alg === 'HS256' ? [await (this.secretKey as Promise<StoredKey>)] : await this.jwksCandidates(alg as JwksAlgorithm, header.kid, signal);
      if (candidates.length === 0) throw new TokenSignatureError('No signing key matches the access token');
      const key = await verifyWithAny(signingInput, signature, candidates);
      const claims = checkClaims(payload, this.rules, this.now());
      if (this.cache !== undefined) {
        const expiresAt = Math.min(claims.exp * 1000, this.now() + this.cacheTtlMs);
        this.cache.set(id, { claims, expiresAt, keyId: key.id });
      }
      return claims;
    } catch (err) {
      if (isAuthError(err)) throw err;
      throw new TokenSignatureError('The access token could not be verified', { cause: err });
    }
  }

  private jwksCandidates(alg: JwksAlgorithm, kid: string | undefined, signal: AbortSignal | undefined): Promise<StoredKey[]> {
    if (this.store === undefined) throw new TokenAlgorithmError();
    return this.store.resolve(alg, kid, signal);
  }

  private dropTokensNotSignedBy(ids: ReadonlySet<string>): void {
    if (this.cache === undefined) return;
    for (const [id, entry] of this.cache.entries()) {
      if (entry.keyId !== SECRET_KEY_ID && !ids.has(entry.keyId)) this.cache.delete(id);
    }
  }
}

/**
 * Creates an {@link AccessTokenVerifier}.
 *
 * @param options - Key sources, claim rules, cache and JWKS settings.
 * @throws {@link ConfigurationError} when no key source is given or an option is invalid.
 * @example
 * ```ts
 * import { createAccessTokenVerifier, isAuthError } from 'supaguard';
 * const verifier = createAccessTokenVerifier({ supabaseUrl: process.env.SUPABASE_URL! });
 * try {
 *   const claims = await verifier.verify(req.headers.authorization?.slice(7) ?? '');
 * } catch (err) {
 *   if (isAuthError(err)) res.status(err.status).end();
 * }
 * ```
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  return new AccessTokenVerifier(options);
}

/**
 * Checks the signature with each candidate key. The keys were imported and
 * validated by jose (curve, modulus ≥ 2048 bits, algorithm binding); the check
 * itself is the WebCrypto call jose would make, on the bytes already decoded by
 * the strict parser, so the token is not parsed a second time.
 */
async function verifyWithAny(signingInput: Uint8Array, signature: Uint8Array, candidates: readonly StoredKey[]): Promise<StoredKey> {
  for (const candidate of candidates) {
    let ok = false;
    try {
      ok = await crypto.subtle.verify(SUBTLE_PARAMS[candidate.alg], candidate.key as Parameters<typeof crypto.subtle.verify>[1], signature, signingInput);
    } catch (cause) {
      throw new TokenSignatureError('The access token signature could not be checked', { cause });
    }
    if (ok) return candidate;
  }
  throw new TokenSignatureError();
}

const SUBTLE_PARAMS = {
  ES256: { name: 'ECDSA', hash: 'SHA-256' },
  RS256: { name: 'RSASSA-PKCS1-v1_5' },
  HS256: { name: 'HMAC' },
} as const;

async function importSecret(bytes: Uint8Array): Promise<StoredKey> {
  const key = await crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  return { id: SECRET_KEY_ID, alg: 'HS256', key };
}

function positive(value: number | undefined, fallback: number, field: string, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0) || value > max) throw new ConfigurationError(field, `must be a number between 0 and ${max}`);
  return value;
}

// Checked here, not in publish(): the hit path must not build a payload nobody reads.
function publishCacheOutcome(hit: boolean): void {
  const channel = hit ? channels.tokenCacheHit : channels.tokenCacheMiss;
  if (channel.hasSubscribers) channel.publish({});
}
