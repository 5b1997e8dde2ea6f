import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ConfigurationError, RateLimitedError } from '../errors.js';
import { channels, publish, traceCall, tracing } from '../observe/channels.js';
import { resolveBudget } from '../resilience/deadline.js';
import { fingerprint } from '../auth/fingerprint.js';

/**
 * What the limiter needs from Redis: an ioredis `Redis` or `Cluster` fits.
 * `status` is read so that a disconnected client is skipped at once instead of
 * queueing the command until it reconnects.
 */
export interface RateLimitRedisClient {
  readonly status?: string;
  evalsha(sha: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

/** Options of a rate limiter (and of the adapters' `rateLimit`). */
export interface RateLimiterOptions {
  /** Requests allowed per window. */
  points: number;
  /** Window length in ms. */
  durationMs: number;
  /** Shared counter store. Without it only the in-memory limiter is used (per process). */
  redis?: RateLimitRedisClient | undefined;
  /** Name in diagnostics events (`supaguard:rate-limit:*`); never the client key. @default the prefix */
  name?: string | undefined;
  /** Redis key prefix. @default "supaguard:rl:" */
  prefix?: string | undefined;
  /** Longest wait for Redis per request (further bounded by the request deadline). @default 50 */
  redisTimeoutMs?: number | undefined;
  /** After a Redis failure, use the in-memory limiter for this long before trying Redis again. @default 1000 */
  redisRetryAfterMs?: number | undefined;
  /**
   * While Redis is unavailable: `'memory'` enforces `points` per process with the
   * in-memory insurance limiter; `'open'` lets every request through. @default "memory"
   */
  whenRedisUnavailable?: 'memory' | 'open' | undefined;
  /** Keys tracked by the in-memory limiter (least recently used are evicted). @default 10000 */
  maxMemoryKeys?: number | undefined;
}

/** One rate-limit decision. */
export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
  /** Where the decision came from. */
  source: 'redis' | 'memory' | 'open';
}

/** Counters of a {@link RateLimiter}. */
export interface RateLimiterStats {
  redisDecisions: number;
  memoryDecisions: number;
  openDecisions: number;
  redisFailures: number;
  denied: number;
}

// Fixed window, atomically: the first hit of a window sets its expiry. A key
// that somehow lost its TTL gets one again instead of limiting forever.
const SCRIPT = `local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

function positive(field: string, value: unknown, fallback?: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigurationError(field, 'must be a positive number');
  return v;
}

/**
 * A fixed-window rate limiter: one atomic Lua script per decision in Redis, and
 * an in-memory insurance limiter that answers while Redis is unavailable. It
 * never waits on Redis longer than `redisTimeoutMs` (or the request deadline),
 * never queues behind a reconnecting client, and never throws for a Redis failure.
 * Create it with {@link createRateLimiter}.
 */
export class RateLimiter {
  readonly points: number;
  readonly durationMs: number;
  /** Name used in diagnostics events. */
  readonly name: string;
  readonly #redis: RateLimitRedisClient | undefined;
  readonly #prefix: string;
  readonly #redisTimeoutMs: number;
  readonly #redisRetryAfterMs: number;
  readonly #open: boolean;
  readonly #memory: LRUCache<string, { count: number; resetAt: number }>;
  #redisSkipUntil = 0;
  #stats: RateLimiterStats = { redisDecisions: 0, memoryDecisions: 0, openDecisions: 0, redisFailures: 0, denied: 0 };

  constructor(options: RateLimiterOptions) {
    this.points = Math.floor(positive('points', options?.points));
    this.durationMs = Math.ceil(positive('durationMs', options?.durationMs));
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? 'supaguard:rl:';
    this.name = options.name ?? this.#prefix;
    this.#redisTimeoutMs = positive('redisTimeoutMs', options.redisTimeoutMs, 50);
    this.#redisRetryAfterMs = positive('redisRetryAfterMs', options.redisRetryAfterMs, 1_000);
    this.#open = options.whenRedisUnavailable === 'open';
    this.#memory = new LRUCache({ max: Math.floor(positive('maxMemoryKeys', options.maxMemoryKeys, 10_000)) });
  }

  /**
   * Counts one request for `key` and decides. Never rejects.
   *
   * @example
   * ```ts
   * const result = await limiter.consume(`user:${userId}`);
   * if (!result.allowed) throw new RateLimitedError(result.limit, result.resetMs);
   * ```
   */
  async consume(key: string): Promise<RateLimitResult> {
    // Hashed: a key may be built from an API key or a token.
    const hashed = fingerprint(key);
    const redis = this.#redis;
    if (redis !== undefined && performance.now() >= this.#redisSkipUntil && (redis.status === undefined || redis.status === 'ready')) {
      const result = await this.#consumeRedis(redis, this.#prefix + hashed);
      if (result !== undefined) return result;
    }
    if (redis !== undefined && this.#open) {
      this.#stats.openDecisions++;
      return { allowed: true, limit: this.points, remaining: this.points, resetMs: this.durationMs, source: 'open' };
    }
    return this.#consumeMemory(hashed);
  }

  /** Decision counters. @example `limiter.stats().memoryDecisions` */
  stats(): RateLimiterStats {
    return { ...this.#stats };
  }

  async #consumeRedis(redis: RateLimitRedisClient, key: string): Promise<RateLimitResult | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const { ms } = resolveBudget(this.#redisTimeoutMs, 'rateLimit.redis');
      const call = traceCall(tracing.redis, { operation: 'evalsha' }, () =>
        redis.evalsha(SHA, 1, key, this.durationMs).catch((err: unknown) => {
          if (String((err as Error)?.message).startsWith('NOSCRIPT')) return redis.eval(SCRIPT, 1, key, this.durationMs);
          throw err;
        }),
      );
      call.catch(() => undefined);
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('redis timeout')), ms);
      });
      const reply = await Promise.race([call, timeout]);
      if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') throw new Error('unexpected script reply');
      const count = reply[0];
      this.#stats.redisDecisions++;
      return this.#result(count, reply[1], 'redis');
    } catch {
      // Includes a spent deadline: the request still gets an answer, from memory.
      this.#stats.redisFailures++;
      this.#redisSkipUntil = performance.now() + this.#redisRetryAfterMs;
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  #consumeMemory(key: string): RateLimitResult {
    const now = performance.now();
    let entry = this.#memory.get(key);
    if (entry === undefined || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + this.durationMs };
      this.#memory.set(key, entry);
    }
    entry.count++;
    this.#stats.memoryDecisions++;
    if (this.#redis !== undefined) publish(channels.rateLimitInsurance, { limiter: this.name });
    return this.#result(entry.count, entry.resetAt - now, 'memory');
  }

  #result(count: number, resetMs: number, source: 'redis' | 'memory'): RateLimitResult {
    const allowed = count <= this.points;
    if (!allowed) {
      this.#stats.denied++;
      publish(channels.rateLimitRejected, { limiter: this.name });
    }
    return { allowed, limit: this.points, remaining: Math.max(0, this.points - count), resetMs: Math.max(0, Math.ceil(resetMs)), source };
  }
}

/**
 * Creates a {@link RateLimiter}. Both adapters' `rateLimit` use it; use it
 * directly for other frameworks.
 *
 * @param options - See {@link RateLimiterOptions}.
 * @throws {@link ConfigurationError} when `points` or `durationMs` is not positive.
 * @example
 * ```ts
 * const limiter = createRateLimiter({ redis, points: 100, durationMs: 60_000 });
 * const { allowed, remaining } = await limiter.consume(`ip:${ip}`);
 * ```
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  return new RateLimiter(options);
}

/**
 * The `RateLimit-*` response headers (IETF draft 6 names, as express-rate-limit
 * sends them) and, when denied, `Retry-After`.
 *
 * @example
 * ```ts
 * for (const [name, value] of Object.entries(rateLimitHeaders(result, limiter.durationMs))) res.setHeader(name, value);
 * ```
 */
export function rateLimitHeaders(result: RateLimitResult, durationMs: number): Record<string, string> {
  const resetSec = String(Math.max(0, Math.ceil(result.resetMs / 1_000)));
  const headers: Record<string, string> = {
    'ratelimit-policy': `${result.limit};w=${Math.ceil(durationMs / 1_000)}`,
    'ratelimit-limit': String(result.limit),
    'ratelimit-remaining': String(result.remaining),
    'ratelimit-reset': resetSec,
  };
  if (!result.allowed) headers['retry-after'] = String(Math.max(1, Number(resetSec)));
  return headers;
}

/** The error a denied decision is answered with (429 through the adapters' error mapping). */
export function rateLimitedError(result: RateLimitResult): RateLimitedError {
  return new RateLimitedError(result.limit, Math.max(1_000, result.resetMs));
}
