/**
 * `supaguard/express` — Express 4 and 5 middleware: `deadline`, `authenticate`,
 * `authorize`, `rateLimit` and `errorHandler`.
 *
 * @module
 */
import type { AuthInfo } from './adapters/contracts.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The caller, set by supaguard's `authenticate` (`null` when optional and no token was sent). */
    auth?: AuthInfo | null;
  }
}

export { authenticate, type AuthenticateOptions } from './adapters/express/authenticate.js';
export { authorize, type AuthorizeOptions } from './adapters/express/authorize.js';
export { rateLimit, type RateLimitOptions, type RateLimitMiddleware } from './adapters/express/rate-limit.js';
export { deadline } from './adapters/express/deadline.js';
export { errorHandler } from './adapters/express/error-handler.js';
export { HTTP_STATUS_BY_CODE, toProblem, PROBLEM_CONTENT_TYPE, type ProblemResponse, type ProblemBody } from './adapters/problem.js';
export { createRateLimiter, RateLimiter, rateLimitHeaders, type RateLimiterOptions, type RateLimitResult, type RateLimiterStats, type RateLimitRedisClient } from './adapters/rate-limiter.js';
export type { AuthInfo, VerifiedClaims, TokenVerifierLike, AuthorizationCheckerLike, AuthorizationQuery, AuthorizationAnswer, AuditLogLike } from './adapters/contracts.js';
