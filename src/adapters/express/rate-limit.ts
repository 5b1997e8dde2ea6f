import type { Request, RequestHandler } from 'express';
import { createRateLimiter, rateLimitedError, rateLimitHeaders, type RateLimiter, type RateLimiterOptions } from '../rate-limiter.js';
import { guardOf } from './request-state.js';

/** Options for {@link rateLimit}. */
export interface RateLimitOptions extends RateLimiterOptions {
  /** The counter a request counts against. @default the caller's user id after authenticate, else `req.ip` */
  key?: (req: Request) => string;
}

/** An Express rate-limit middleware; `limiter` exposes its counters. */
export type RateLimitMiddleware = RequestHandler & { readonly limiter: RateLimiter };

const defaultKey = (req: Request): string => (req.auth ? `user:${req.auth.userId}` : `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`);

/**
 * Express middleware: `points` requests per `durationMs` per key, counted
 * atomically in Redis (one Lua script) when `redis` is given, with an in-memory
 * insurance limiter while Redis is unavailable. Never waits on Redis longer than
 * `redisTimeoutMs` or the request deadline, and never answers 500 because of
 * Redis. Sets `RateLimit-Policy`, `RateLimit-Limit`, `RateLimit-Remaining` and
 * `RateLimit-Reset` on every response; past the limit it fails with
 * `E_RATE_LIMITED` (429 with `Retry-After`).
 *
 * @param options - See {@link RateLimitOptions}.
 * @throws {@link ConfigurationError} when `points` or `durationMs` is not positive.
 * @example
 * ```ts
 * app.use(authenticate({ verifier }), rateLimit({ redis, points: 100, durationMs: 60_000 }));
 * ```
 */
export function rateLimit(options: RateLimitOptions): RateLimitMiddleware {
  const limiter = createRateLimiter(options);
  const key = options.key ?? defaultKey;
  const middleware = function supaguardRateLimit(req: Request, res: Parameters<RequestHandler>[1], next: (err?: unknown) => void): void {
    let id: string;
    try {
      id = key(req);
    } catch (err) {
      return next(err);
    }
    const guard = guardOf(req);
    // consume() never rejects; only a request already past its deadline fails here (504).
    guard
      .run('rateLimit', () => limiter.consume(id))
      .then((result) => {
        if (!res.headersSent) for (const [name, value] of Object.entries(rateLimitHeaders(result, limiter.durationMs))) res.setHeader(name, value);
        next(result.allowed ? undefined : rateLimitedError(result));
      }, next);
  };
  return Object.assign(middleware, { limiter });
}
