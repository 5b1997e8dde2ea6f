import { ConfigurationError, ForbiddenError, InvalidIdentifierError, TokenClaimsError, TokenMalformedError, TokenMissingError } from '../errors.js';
import { deadlineSignal, withDeadline } from '../resilience/deadline.js';
import type { AuditLogLike, AuthInfo, AuthorizationAnswer, AuthorizationCheckerLike, TokenVerifierLike, VerifiedClaims } from './contracts.js';

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
 */
export class RequestGuard {
  /** Absolute deadline on the `performance.now()` clock. */
  deadlineAt: number;
  /** Signal of the deadline scope that wraps the request, when one does (Express `deadline()`). */
  scopeSignal: AbortSignal | undefined;
  /** Set once the deadline answered the request with a 504. */
  timedOut = false;
  auth: AuthInfo | null = null;
  #memo: Map<string, Promise<AuthorizationAnswer>> | undefined;

  constructor(deadlineMs: number) {
    this.deadlineAt = performance.now() + deadlineMs;
  }

  /** Milliseconds left, never negative. */
  remainingMs(): number {
    return Math.max(0, this.deadlineAt - performance.now());
  }

  /**
   * Runs `fn` within the request's remaining budget. Inside the request's own
   * deadline scope this costs nothing extra; elsewhere (e.g. after a body parser
   * lost the async context) the scope is re-entered with what is left.
   */
  run<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ambient = deadlineSignal();
    if (ambient !== undefined && ambient === this.scopeSignal) return fn(ambient);
    return withDeadline(this.remainingMs(), fn, { operation });
  }

  /** The memoised answer for `key`, or the result of `load` (remembered for this request). */
  memo(key: string, load: () => Promise<AuthorizationAnswer>): Promise<AuthorizationAnswer> {
    const memo = (this.#memo ??= new Map());
    let answer = memo.get(key);
    if (answer === undefined) {
      answer = load();
      memo.set(key, answer);
    }
    return answer;
  }
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

/** Wraps verified claims into the {@link AuthInfo} put on the request; `token` is non-enumerable. */
export function toAuthInfo<C extends VerifiedClaims>(claims: C, token: string): AuthInfo<C> {
  if (typeof claims?.sub !== 'string' || claims.sub.length === 0) throw new TokenClaimsError('The verified token has no subject');
  const info = { userId: claims.sub, claims } as AuthInfo<C>;
  Object.defineProperty(info, 'token', { value: token, enumerable: false });
  return info;
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
 * Verifies the request's token within its deadline and stores the caller on the guard.
 *
 * @throws {@link TokenMissingError} when no token is present and auth is not optional, or any `AuthError` from the verifier.
 */
export async function authenticateRequest(
  guard: RequestGuard,
  headers: { authorization?: string | string[] | undefined; cookie?: string | string[] | undefined },
  options: AuthenticateStepOptions,
): Promise<AuthInfo | null> {
  const token = extractToken(headers.authorization, headers.cookie, options.cookie);
  if (token === undefined) {
    if (options.optional) return (guard.auth = null);
    throw new TokenMissingError();
  }
  const claims = await guard.run('authenticate', (signal) => options.verifier.verify(token, { signal }));
  return (guard.auth = toAuthInfo(claims, token));
}

/** What to authorize, as resolved from the request. */
export interface AuthorizeStep {
  resourceId: unknown;
  action: string;
}

/**
 * Answers "may the caller do `action` on `resourceId`?" once per request
 * (memoised), logs the decision to the audit log when one is given.
 *
 * @throws {@link TokenMissingError} when the request is not authenticated.
 * @throws {@link InvalidIdentifierError} when `resourceId` is not a non-empty string.
 */
export function checkRequest(guard: RequestGuard, authorization: AuthorizationCheckerLike, step: AuthorizeStep, audit?: AuditLogLike): Promise<AuthorizationAnswer> {
  const auth = guard.auth;
  if (auth === null) return Promise.reject(new TokenMissingError());
  const { resourceId, action } = step;
  if (typeof resourceId !== 'string' || resourceId.length === 0) return Promise.reject(new InvalidIdentifierError('resourceId'));
  return guard.memo(`${action}\u0000${resourceId}`, async () => {
    const answer = await guard.run('authorize', (signal) => authorization.check({ userId: auth.userId, resourceId, action }, { signal }));
    audit?.log({ userId: auth.userId, action, resourceId, outcome: answer.allowed ? 'allow' : 'deny' });
    return answer;
  });
}

/**
 * {@link checkRequest}, throwing {@link ForbiddenError} on a deny.
 *
 * @throws {@link ForbiddenError} when the answer is a deny.
 */
export async function authorizeRequest(guard: RequestGuard, authorization: AuthorizationCheckerLike, step: AuthorizeStep, audit?: AuditLogLike): Promise<void> {
  const answer = await checkRequest(guard, authorization, step, audit);
  if (!answer.allowed) throw new ForbiddenError(answer.reason);
}
