import {
  TokenAudienceError,
  TokenClaimsError,
  TokenExpiredError,
  TokenIssuerError,
  TokenNotYetValidError,
} from '../errors.js';

/**
 * The claims of a verified Supabase access token. Standard and Supabase claims
 * are typed; any other claim the token carries is kept as `unknown`.
 */
export interface AccessTokenClaims {
  /** The user id (a UUID). */
  readonly sub: string;
  readonly iss: string;
  readonly aud: string | readonly string[];
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
  readonly iat?: number;
  readonly nbf?: number;
  /** Usually `authenticated`; never `anon` or `service_role` here. */
  readonly role?: string;
  readonly session_id?: string;
  /** Authenticator assurance level, `aal1` or `aal2`. */
  readonly aal?: string;
  readonly email?: string;
  readonly phone?: string;
  readonly is_anonymous?: boolean;
  readonly app_metadata?: Readonly<Record<string, unknown>>;
  readonly user_metadata?: Readonly<Record<string, unknown>>;
  readonly [claim: string]: unknown;
}

/** What {@link checkClaims} enforces. */
export interface ClaimRules {
  /** Accepted issuers. */
  readonly issuers: readonly string[];
  /** Accepted audiences: the token's `aud` must contain one. */
  readonly audiences: readonly string[];
  /** Allowed clock skew for `nbf` and `iat`, in seconds. `exp` gets none. */
  readonly clockToleranceSec: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NOT_USER_ROLES = new Set(['service_role', 'anon']);

/**
 * Checks the claims of a token whose signature has been verified, and returns
 * them deeply frozen (they are shared between cache hits). Missing or
 * wrongly-typed claims are `E_TOKEN_CLAIMS`; `exp` must be later than now with
 * no tolerance; `nbf` and `iat` may be at most `clockToleranceSec` ahead.
 *
 * @param payload - The parsed payload.
 * @param rules - Issuers, audiences and tolerance.
 * @param nowMs - The current time in ms.
 * @throws {@link TokenClaimsError}, {@link TokenExpiredError}, {@link TokenNotYetValidError},
 *   {@link TokenIssuerError}, {@link TokenAudienceError}.
 * @example
 * ```ts
 * const claims = checkClaims(payload, { issuers: [iss], audiences: ['authenticated'], clockToleranceSec: 5 }, Date.now());
 * ```
 */
export function checkClaims(payload: unknown, rules: ClaimRules, nowMs: number): AccessTokenClaims {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new TokenClaimsError('The access token payload must be a JSON object');
  }
  const claims = payload as Record<string, unknown>;
  const nowSec = nowMs / 1000;

  const exp = numericDate(claims, 'exp', true);
  if (exp === undefined || exp <= nowSec) throw new TokenExpiredError();
  const nbf = numericDate(claims, 'nbf', false);
  if (nbf !== undefined && nbf > nowSec + rules.clockToleranceSec) throw new TokenNotYetValidError();
  const iat = numericDate(claims, 'iat', false);
  if (iat !== undefined && iat > nowSec + rules.clockToleranceSec) throw new TokenNotYetValidError('The access token was issued in the future');

  const { iss, aud, sub, role } = claims;
  if (typeof iss !== 'string') throw new TokenClaimsError('The access token "iss" must be a string');
  if (!rules.issuers.includes(iss)) throw new TokenIssuerError();
  if (typeof aud === 'string') {
    if (!rules.audiences.includes(aud)) throw new TokenAudienceError();
  } else if (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string')) {
    if (!aud.some((a: string) => rules.audiences.includes(a))) throw new TokenAudienceError();
  } else {
    throw new TokenClaimsError('The access token "aud" must be a string or an array of strings');
  }
  if (typeof sub !== 'string' || !UUID.test(sub)) throw new TokenClaimsError('The access token "sub" must be a UUID');
  if (role !== undefined) {
    if (typeof role !== 'string') throw new TokenClaimsError('The access token "role" must be a string');
    if (NOT_USER_ROLES.has(role)) throw new TokenClaimsError(`A "${role}" token is not a user access token`);
  }
  if (claims.session_id !== undefined && typeof claims.session_id !== 'string') {
    throw new TokenClaimsError('The access token "session_id" must be a string');
  }
  return deepFreeze(claims) as AccessTokenClaims;
}

function numericDate(claims: Record<string, unknown>, name: 'exp' | 'nbf' | 'iat', required: boolean): number | undefined {
  const value = claims[name];
  if (value === undefined) {
    if (required) throw new TokenClaimsError(`The access token has no "${name}"`);
    return undefined;
  }
  // 1e309 parses to Infinity; a date must be a finite number.
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TokenClaimsError(`The access token "${name}" must be a finite number`);
  return value;
}

function deepFreeze(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
