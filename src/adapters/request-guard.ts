import { ConfigurationError, DeadlineExceededError, ForbiddenError, InvalidIdentifierError, TokenClaimsError, TokenMalformedError, TokenMissingError } from '../errors.js';
import { DEFAULT_DEADLINE_FLOOR_MS, deadlineSignal, withDeadline } from '../resilience/deadline.js';
import { TimeoutCall } from '../resilience/timeout-call.js';
import type { AuditLogLike, AuthInfo, AuthorizationAnswer, AuthorizationCheckerLike, AuthorizationQuery, TokenVerifierLike, VerifiedClaims } from './contracts.js';

/** Per-request budget when nothing else sets one. @default 10000 */
export const DEFAULT_REQUEST_DEADLINE_MS = 10_000;

/** Validates a deadline option. @internal */
export function checkDeadlineMs(field: string, ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw new ConfigurationError(field, 'must be a positive number of milliseconds');
  return ms;
}

/**
 * The state supaguard keeps for one HTTP request, shared by its middleware or
 * hooks: the deadline, the authenticated caller and the memo of authorization
 * checks, so that the same check twice in one request runs once.
 *
 * The deadline costs nothing until a step has to wait: answers from the
 * verified-token cache and from L1 are synchronous, and only work that goes to
 * the network gets a signal and a timer. Outside an Express `deadline()` scope
 * that signal is passed explicitly, never through AsyncLocalStorage — on Node 20,
 * entering AsyncLocalStorage once makes every `await` in the process slower.
 */
export class RequestGuard {
  /** Absolute deadline on the `performance.now()` clock. */
  deadlineAt: number;
  /** Signal of the deadline scope that wraps the request, when one does (Express `deadline()`). */
  scopeSignal: AbortSignal | undefined;
  /** Set once the deadline answered the request with a 504. */
  timedOut = false;
  /** The caller once authentication ran (`null`: optional and no token); `undefined` before. */
  auth: AuthInfo | null | undefined = undefined;
  // Most requests make one check: it is kept inline (no key string built), a Map only from the second.
  #firstAction: string | undefined;
  #firstResource: string | undefined;
  #firstAnswer: AuthorizationAnswer | Promise<AuthorizationAnswer> | undefined;
  #memo: Map<string, AuthorizationAnswer | Promise<AuthorizationAnswer>> | undefined;

  constructor(deadlineMs: number) {
    this.deadlineAt = performance.now() + deadlineMs;
  }

  /** Milliseconds left, never negative. */
  remainingMs(): number {
    return Math.max(0, this.deadlineAt - performance.now());
  }

  /**
   * Runs `fn` within the request's remaining budget. Inside the request's own
   * deadline scope this costs nothing extra; after a body parser lost that
   * scope, it is re-entered with what is left; without a scope, `fn` gets a
   * signal that aborts at the request's deadline, and the result settles by then.
   */
  run<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.scopeSignal === undefined) return runUntil(this.deadlineAt, operation, fn);
    return this.runScoped(operation, fn);
  }

  /**
   * Runs `fn` inside an ambient deadline scope (`withDeadline`) holding what is
   * left of the request's budget, so `remainingMs()`, `deadlineSignal()` and every
   * supaguard call inside see it. Used for handler code that asks for the scope.
   */
  runScoped<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const scope = this.scopeSignal;
    if (scope !== undefined && deadlineSignal() === scope) return fn(scope);
    return withDeadline(this.remainingMs(), fn, { operation });
  }

  /** The memoised answer for `action` on `resourceId` (a value or a pending promise), if any. */
  memoGet(action: string, resourceId: string): AuthorizationAnswer | Promise<AuthorizationAnswer> | undefined {
    if (action === this.#firstAction && resourceId === this.#firstResource) return this.#firstAnswer;
    return this.#memo?.get(`${action}\u0000${resourceId}`);
  }

  /** Remembers the answer (or pending answer) for `action` on `resourceId` for the rest of the request. */
  memoSet<A extends AuthorizationAnswer | Promise<AuthorizationAnswer>>(action: string, resourceId: string, answer: A): A {
    if (this.#firstAction === undefined) {
      this.#firstAction = action;
      this.#firstResource = resourceId;
      this.#firstAnswer = answer;
    } else {
      (this.#memo ??= new Map()).set(`${action}\u0000${resourceId}`, answer);
    }
    return answer;
  }
}

/**
 * `fn(signal)` bounded by `deadlineAt` without an ambient scope: the shared
 * timeout race with the deadline as its only limit, so the signal (created only
 * when `fn` declares it) aborts with {@link DeadlineExceededError} at the deadline,
 * or with `fn`'s error when it fails, and the result settles by then even if `fn`
 * ignores the signal.
 */
function runUntil<T>(deadlineAt: number, operation: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const left = deadlineAt - performance.now();
  if (left < DEFAULT_DEADLINE_FLOOR_MS) return Promise.reject(new DeadlineExceededError(operation, left));
  return new TimeoutCall<T>(operation, Infinity, left, undefined, undefined, undefined).run(fn);
}

/** True for a promise (or any thenable) — the steps below answer synchronously when they can. */
export function isPending<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * The access token of a request: the `Authorization: Bearer` header, else the
 * named cookie. `undefined` when neither is present (or the header uses another scheme).
 *
 * @throws {@link TokenMalformedError} when the header says Bearer but is not `Bearer <token>`.
 */
export function extractToken(authorization: string | string[] | undefined, cookieHeader: string | string[] | undefined, cookieName: string | undefined): string | undefined {
  if (typeof authorization === 'string' && authorization.length > 0) {
    const match = BEARER.exec(authorization);
    if (match) return match[1];
    if (/^bearer(\s|$)/i.test(authorization)) throw new TokenMalformedError('The Authorization header is not "Bearer <token>"');
  }
  if (cookieName !== undefined && typeof cookieHeader === 'string') return readCookie(cookieHeader, cookieName);
  return undefined;
}

/**
 * What follows `Bearer ` (any case, one space) in a header that ends in a
 * non-space character, without the regular expression: a candidate for a cache
 * lookup only. It may contain characters {@link extractToken} refuses, and such a
 * string can never be a cached token, because only verified tokens are cached and
 * a compact JWS has no whitespace; the full parse decides everything else.
 */
export function bearerCandidate(authorization: string | string[] | undefined): string | undefined {
  if (typeof authorization !== 'string' || authorization.length < 8 || authorization.charCodeAt(6) !== 32) return undefined;
  // ASCII letters only, as /^Bearer/i without the u flag: 'B'|0x20 === 'b' and so on.
  if (
    (authorization.charCodeAt(0) | 0x20) !== 0x62 ||
    (authorization.charCodeAt(1) | 0x20) !== 0x65 ||
    (authorization.charCodeAt(2) | 0x20) !== 0x61 ||
    (authorization.charCodeAt(3) | 0x20) !== 0x72 ||
    (authorization.charCodeAt(4) | 0x20) !== 0x65 ||
    (authorization.charCodeAt(5) | 0x20) !== 0x72
  ) {
    return undefined;
  }
  if (authorization.charCodeAt(7) === 32 || authorization.charCodeAt(authorization.length - 1) === 32) return undefined;
  return authorization.slice(7);
}

function readCookie(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
      } catch {
        throw new TokenMalformedError('The token cookie is not valid percent-encoding');
      }
    }
  }
  return undefined;
}

/** The {@link AuthInfo} put on a request: `token` is a prototype getter, so it is never an own, enumerable or serialised property. */
class RequestAuth<C extends VerifiedClaims> implements AuthInfo<C> {
  readonly #token: string;
  constructor(
    readonly userId: string,
    readonly claims: C,
    token: string,
  ) {
    this.#token = token;
  }
  get token(): string {
    return this.#token;
  }
}

/** Wraps verified claims into the {@link AuthInfo} put on the request; `token` is non-enumerable. */
export function toAuthInfo<C extends VerifiedClaims>(claims: C, token: string): AuthInfo<C> {
  if (typeof claims?.sub !== 'string' || claims.sub.length === 0) throw new TokenClaimsError('The verified token has no subject');
  return new RequestAuth(claims.sub, claims, token);
}

/** Options shared by the adapters' authentication step. */
export interface AuthenticateStepOptions {
  verifier: TokenVerifierLike;
  /** Read the token from this cookie when there is no Authorization header. */
  cookie?: string | undefined;
  /** Let requests without a token through with `auth = null` (a bad token is still 401). @default false */
  optional?: boolean | undefined;
}

/**
 * Verifies the request's token and stores the caller on the guard: at once
 * when the verifier's cache knows the token (`verifier.peek`), otherwise within
 * the request's deadline.
 *
 * @throws {@link TokenMissingError} (synchronously) when no token is present and auth is not optional;
 *   {@link TokenMalformedError} for a malformed header; the returned promise rejects with the verifier's `AuthError`.
 */
export function authenticateRequest(
  guard: RequestGuard,
  headers: { authorization?: string | string[] | undefined; cookie?: string | string[] | undefined },
  options: AuthenticateStepOptions,
): AuthInfo | null | Promise<AuthInfo | null> {
  const verifier = options.verifier;
  // The common case first: a `Bearer <token>` header the verifier has cached. The
  // candidate is only looked up; whatever misses goes through the full parse below.
  const candidate = verifier.peek === undefined ? undefined : bearerCandidate(headers.authorization);
  if (candidate !== undefined) {
    const known = verifier.peek?.(candidate);
    if (known !== undefined) return (guard.auth = toAuthInfo(known, candidate));
  }
  const token = extractToken(headers.authorization, headers.cookie, options.cookie);
  if (token === undefined) {
    if (options.optional) return (guard.auth = null);
    throw new TokenMissingError();
  }
  const cached = token === candidate ? undefined : verifier.peek?.(token);
  if (cached !== undefined) return (guard.auth = toAuthInfo(cached, token));
  return guard.run('authenticate', (signal) => verifier.verify(token, { signal })).then((claims) => (guard.auth = toAuthInfo(claims, token)));
}

/** What to authorize, as resolved from the request. */
export interface AuthorizeStep {
  resourceId: unknown;
  action: string;
}

/**
 * Answers "may the caller do `action` on `resourceId`?" once per request
 * (memoised): at once from the cache's L1 (`authorization.peek`) when it can,
 * otherwise within the request's deadline. Logs the decision to the audit log
 * when one is given.
 *
 * @throws {@link TokenMissingError} (synchronously) when the request is not authenticated.
 * @throws {@link InvalidIdentifierError} (synchronously) when `resourceId` is not a non-empty string, or the cache rejects it.
 */
export function checkRequest(
  guard: RequestGuard,
  authorization: AuthorizationCheckerLike,
  step: AuthorizeStep,
  audit?: AuditLogLike,
): AuthorizationAnswer | Promise<AuthorizationAnswer> {
  const auth = guard.auth;
  if (auth == null) throw new TokenMissingError();
  const { resourceId, action } = step;
  if (typeof resourceId !== 'string' || resourceId.length === 0) throw new InvalidIdentifierError('resourceId');
  const memoised = guard.memoGet(action, resourceId);
  if (memoised !== undefined) return memoised;
  const query = { userId: auth.userId, resourceId, action };
  const known = authorization.peek?.(query);
  // No closure on the synchronous path: it runs on every request.
  if (known !== undefined) return guard.memoSet(action, resourceId, record(audit, query, known));
  return guard.memoSet(
    action,
    resourceId,
    guard.run('authorize', (signal) => authorization.check(query, { signal })).then((answer) => record(audit, query, answer)),
  );
}

/** Logs the decision to the audit log (never awaited) and returns it. */
function record(audit: AuditLogLike | undefined, query: AuthorizationQuery, answer: AuthorizationAnswer): AuthorizationAnswer {
  audit?.log({ userId: query.userId, action: query.action, resourceId: query.resourceId, outcome: answer.allowed ? 'allow' : 'deny' });
  return answer;
}

/**
 * {@link checkRequest}, throwing {@link ForbiddenError} on a deny; `undefined`
 * when it was answered synchronously and allowed.
 *
 * @throws {@link ForbiddenError} when the answer is a deny (synchronously when known at once).
 */
export function authorizeRequest(guard: RequestGuard, authorization: AuthorizationCheckerLike, step: AuthorizeStep, audit?: AuditLogLike): void | Promise<void> {
  const answer = checkRequest(guard, authorization, step, audit);
  if (!isPending(answer)) return enforce(answer);
  return answer.then(enforce);
}

function enforce(answer: AuthorizationAnswer): void {
  if (!answer.allowed) throw new ForbiddenError(answer.reason);
}
