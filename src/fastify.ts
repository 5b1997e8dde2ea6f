/**
 * `supaguard/fastify` — the Fastify 5 plugin.
 *
 * @module
 */
import type { AuthInfo } from './adapters/contracts.js';
import type { SupaguardFastify, SupaguardRouteConfig } from './adapters/fastify/options.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set by the supaguard plugin (`null` on public routes and optional auth without a token). */
    auth: AuthInfo | null;
  }
  interface FastifyInstance {
    /** The supaguard plugin's components and per-request helpers. */
    supaguard: SupaguardFastify;
  }
  interface FastifyContextConfig {
    /** supaguard settings of this route. */
    supaguard?: SupaguardRouteConfig;
  }
}

export { supaguard, supaguard as default } from './adapters/fastify/plugin.js';
export type { SupaguardPluginOptions, SupaguardRouteConfig, SupaguardFastify, FastifyRateLimitOptions, FastifyAuthorizeOptions } from './adapters/fastify/options.js';
export { HTTP_STATUS_BY_CODE, toProblem, PROBLEM_CONTENT_TYPE, type ProblemResponse, type ProblemBody } from './adapters/problem.js';
export { createRateLimiter, RateLimiter, rateLimitHeaders, type RateLimiterOptions, type RateLimitResult, type RateLimiterStats, type RateLimitRedisClient } from './adapters/rate-limiter.js';
export type { AuthInfo, VerifiedClaims, TokenVerifierLike, AuthorizationCheckerLike, AuthorizationQuery, AuthorizationAnswer, AuditLogLike } from './adapters/contracts.js';
