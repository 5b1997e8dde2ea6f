import type { FastifyRequest } from 'fastify';
import type { AuditLogLike, AuthorizationAnswer, AuthorizationCheckerLike, TokenVerifierLike } from '../contracts.js';
import type { RateLimitRedisClient, RateLimiterOptions } from '../rate-limiter.js';

/** Rate limit of a route (or the default of every route). */
export interface FastifyRateLimitOptions extends Omit<RateLimiterOptions, 'redis'> {
  /** The counter a request counts against. @default `user:<id>` after authentication, else `ip:<request.ip>` */
  key?: (request: FastifyRequest) => string;
}

/** Authorization of a route. */
export interface FastifyAuthorizeOptions {
  /** The resource id, e.g. `(request) => (request.params as { id: string }).id`. */
  resource: (request: FastifyRequest) => unknown;
  /** The action checked, e.g. `project.read`. */
  action: string;
}

/** `config: { supaguard: { … } }` of a route. */
export interface SupaguardRouteConfig {
  /** No authentication (nor authorization) on this route. @default false */
  public?: boolean;
  /** Authenticate when a token is sent, but let requests without one through with `request.auth = null`. */
  optional?: boolean;
  /** Authorize every request of this route before its handler. */
  authorize?: FastifyAuthorizeOptions;
  /** This route's rate limit; `false` turns the plugin-wide one off. */
  rateLimit?: FastifyRateLimitOptions | false;
  /** This route's request budget. */
  deadlineMs?: number;
}

/** Options of the supaguard Fastify plugin. */
export interface SupaguardPluginOptions {
  /** Verifies access tokens, e.g. `createAccessTokenVerifier({ supabaseUrl })`. */
  verifier: TokenVerifierLike;
  /** Answers authorization checks, e.g. `createAuthorizationCache(...)`. Its `close()` runs on `fastify.close()`. */
  authorization?: AuthorizationCheckerLike;
  /** Records allow / deny decisions; flushed and closed on `fastify.close()`. */
  auditLog?: AuditLogLike;
  /** Redis for rate limits (your ioredis `Redis` or `Cluster`; never closed by the plugin). */
  redis?: RateLimitRedisClient;
  /** Rate limit of every route unless its config says otherwise. */
  rateLimit?: FastifyRateLimitOptions;
  /** Redis subscriber connections to `quit()` on `fastify.close()` (e.g. the invalidation bus's subscriber). */
  subscribers?: ReadonlyArray<{ quit(): Promise<unknown> }>;
  /** Accept the token from this cookie when there is no `Authorization` header. */
  cookie?: string;
  /** Authentication optional on every route (routes can still opt in with `optional: false`). @default false */
  optional?: boolean;
  /** Budget of each request's supaguard work. @default 10000 */
  deadlineMs?: number;
  /** Install the error handler that answers supaguard errors as problem+json. @default true */
  errorHandler?: boolean;
}

/** `fastify.supaguard`: the plugin's components and per-request helpers. */
export interface SupaguardFastify {
  readonly verifier: TokenVerifierLike;
  readonly authorization: AuthorizationCheckerLike | undefined;
  readonly auditLog: AuditLogLike | undefined;
  /** Asks the authorization source, memoised per request. Needs an authenticated request. */
  check(request: FastifyRequest, query: { resourceId: string; action: string }): Promise<AuthorizationAnswer>;
  /** Like `check`, but throws `ForbiddenError` (403) on a deny. */
  authorize(request: FastifyRequest, query: { resourceId: string; action: string }): Promise<void>;
  /** Runs `fn` within the request's remaining budget (supaguard calls inside honour it). */
  withDeadline<T>(request: FastifyRequest, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
}
