import { LRUCache } from 'lru-cache';
import { ConfigurationError, isAuthError, JwksUnavailableError, TokenClaimsError, TokenExpiredError } from '../errors.js';
import { CircuitBreaker, type CircuitBreakerOptions } from '../resilience/circuit-breaker.js';
import { fingerprint } from './fingerprint.js';
import type { AccessTokenClaims } from './token-claims.js';

/**
 * The part of a Supabase client revalidation uses (`SupabaseClient` fits; the
 * core never imports supabase-js).
 */
export interface SessionRevalidationClient {
  auth: {
    getUser(jwt?: string): Promise<{ data: { user: { id: string } | null }; error: { status?: number | undefined; message?: string } | null }>;
  };
}

/** Options of the verifier's `revalidate`. */
export interface RevalidateOptions {
  /** A Supabase client (any key); its `auth.getUser(token)` confirms the session with the auth server. */
  client: SessionRevalidationClient;
  /** Confirm each `session_id` at most once per this many ms. */
  everyMs: number;
  /** Limit of one `getUser` call (the request deadline also bounds it). @default 2000 */
  timeoutMs?: number;
  /**
   * What to do when the auth server cannot answer (timeout, 5xx, network error,
   * open circuit): `'fail-closed'` rejects with `E_JWKS_UNAVAILABLE` (503);
   * `'fail-open'` accepts the locally verified token. @default 'fail-closed'
   */
  whenUnavailable?: 'fail-closed' | 'fail-open';
  /** Circuit breaker settings for the `getUser` calls. @default { name: 'supabase-auth' } */
  breaker?: Partial<Omit<CircuitBreakerOptions<[string], void>, 'fallback' | 'errorFilter'>>;
  /** Sessions remembered. @default 10000 */
  maxSessions?: number;
}

interface SessionState {
  readonly checkedAt: number;
  /** The auth server said the session is over; remembered for `everyMs` too. */
  readonly rejected: AuthRejection | undefined;
}

type AuthRejection = TokenExpiredError | TokenClaimsError;

/**
 * Confirms sessions with the auth server (`auth.getUser`) at most once per
 * `session_id` per `everyMs`, through a circuit breaker with a timeout.
 * Concurrent confirmations of one session share one call.
 *
 * @example
 * ```ts
 * const revalidator = new SessionRevalidator({ client: supabase, everyMs: 60_000 }, Date.now);
 * await revalidator.confirm(token, claims);
 * ```
 */
export class SessionRevalidator {
  private readonly sessions: LRUCache<string, SessionState>;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly breaker: CircuitBreaker<[string, string], void>;
  private readonly everyMs: number;
  private readonly failOpen: boolean;

  constructor(
    options: RevalidateOptions,
    private readonly now: () => number,
  ) {
    const client = options?.client;
    if (typeof client?.auth?.getUser !== 'function') throw new ConfigurationError('revalidate.client', 'must be a Supabase client (auth.getUser)');
    if (typeof options.everyMs !== 'number' || !(options.everyMs > 0) || !Number.isFinite(options.everyMs)) {
      throw new ConfigurationError('revalidate.everyMs', 'must be a positive number of milliseconds');
    }
    if (options.whenUnavailable !== undefined && options.whenUnavailable !== 'fail-closed' && options.whenUnavailable !== 'fail-open') {
      throw new ConfigurationError('revalidate.whenUnavailable', "must be 'fail-closed' or 'fail-open'");
    }
    this.everyMs = options.everyMs;
    this.failOpen = options.whenUnavailable === 'fail-open';
    this.sessions = new LRUCache({ max: options.maxSessions ?? 10_000 });
    this.breaker = new CircuitBreaker<[string, string], void>(
      async (_signal, token, sub) => {
        const { data, error } = await client.auth.getUser(token);
        if (error) {
          const status = error.status ?? 0;
          // 4xx: the auth server answered and refused the session. Anything else is an outage.
          if (status >= 400 && status < 500) throw new TokenExpiredError('The session is no longer active');
          throw new Error(`auth.getUser failed with status ${status}`);
        }
        if (data.user?.id !== sub) throw new TokenClaimsError('The session belongs to another user');
      },
      {
        name: 'supabase-auth',
        timeoutMs: options.timeoutMs ?? 2_000,
        ...options.breaker,
        // A refused session is the caller's problem, not the auth server's: it never opens the breaker.
        errorFilter: (err) => isAuthError(err),
      },
    );
  }

  /**
   * Resolves when the session is confirmed (now or within `everyMs`).
   *
   * @throws {@link TokenExpiredError} when the auth server refused the session.
   * @throws {@link TokenClaimsError} when it belongs to another user.
   * @throws {@link JwksUnavailableError} when the auth server could not answer and the policy is fail-closed.
   */
  confirm(token: string, claims: AccessTokenClaims, signal?: AbortSignal): Promise<void> {
    const key = sessionKey(token, claims);
    const state = this.sessions.get(key);
    if (state !== undefined && this.now() - state.checkedAt < this.everyMs) {
      return state.rejected === undefined ? Promise.resolve() : Promise.reject(state.rejected);
    }
    let pending = this.inflight.get(key);
    if (pending === undefined) {
      pending = this.check(key, token, claims.sub, signal).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /**
   * True when the session was confirmed within `everyMs` and not refused, i.e.
   * when {@link SessionRevalidator.confirm} would resolve at once. Synchronous.
   */
  isConfirmed(token: string, claims: AccessTokenClaims): boolean {
    const state = this.sessions.get(sessionKey(token, claims));
    return state !== undefined && state.rejected === undefined && this.now() - state.checkedAt < this.everyMs;
  }

  /** Releases the circuit breaker. */
  dispose(): void {
    this.breaker.dispose();
  }

  private async check(key: string, token: string, sub: string, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.breaker.fireWith({ signal }, token, sub);
      this.sessions.set(key, { checkedAt: this.now(), rejected: undefined });
    } catch (err) {
      if (err instanceof TokenExpiredError || err instanceof TokenClaimsError) {
        this.sessions.set(key, { checkedAt: this.now(), rejected: err });
        throw err;
      }
      // Outage: nothing is remembered, so the next request asks again (the breaker keeps that cheap).
      if (this.failOpen) return;
      throw new JwksUnavailableError('The auth server could not confirm the session', { cause: err });
    }
  }
}

// One entry per session when the token names it, else per token (by fingerprint, never the token itself).
function sessionKey(token: string, claims: AccessTokenClaims): string {
  return typeof claims.session_id === 'string' ? `s:${claims.session_id}` : `t:${fingerprint(token)}`;
}
