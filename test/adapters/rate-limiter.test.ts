import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, channels, subscribe, withDeadline } from '../../src/index.js';
import { createRateLimiter, rateLimitHeaders, type RateLimitRedisClient } from '../../src/express.js';
import { REDIS_URL, requireService, startRedisServer, type RedisProcess } from '../helpers/services.js';

const redisAvailable = await requireService('redis');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Until a client is ready the limiter answers from memory, by design.
const ready = async (client: Redis): Promise<Redis> => {
  if (client.status !== 'ready') await once(client, 'ready');
  return client;
};

describe('createRateLimiter (in memory)', () => {
  it('allows `points` per window per key, then denies until the window resets', async () => {
    const limiter = createRateLimiter({ points: 2, durationMs: 80, name: 'login' });
    const rejected: unknown[] = [];
    const dispose = subscribe(channels.rateLimitRejected, (e) => rejected.push(e));
    expect((await limiter.consume('a')).remaining).toBe(1);
    expect((await limiter.consume('a')).allowed).toBe(true);
    const denied = await limiter.consume('a');
    dispose();
    expect(rejected).toEqual([{ limiter: 'login' }]);
    expect(denied).toMatchObject({ allowed: false, remaining: 0, source: 'memory' });
    expect((await limiter.consume('b')).allowed).toBe(true);
    await sleep(100);
    expect((await limiter.consume('a')).allowed).toBe(true);
    expect(limiter.stats()).toMatchObject({ memoryDecisions: 5, denied: 1 });
  });

  it('rateLimitHeaders: draft-6 RateLimit-* names, Retry-After only when denied', () => {
    const allowed = rateLimitHeaders({ allowed: true, limit: 10, remaining: 3, resetMs: 1_200, source: 'redis' }, 60_000);
    expect(allowed).toEqual({ 'ratelimit-policy': '10;w=60', 'ratelimit-limit': '10', 'ratelimit-remaining': '3', 'ratelimit-reset': '2' });
    expect(rateLimitHeaders({ allowed: false, limit: 10, remaining: 0, resetMs: 0, source: 'memory' }, 1_000)['retry-after']).toBe('1');
  });

  it('rejects invalid limits', () => {
    expect(() => createRateLimiter({ points: 0, durationMs: 1 })).toThrow(ConfigurationError);
    expect(() => createRateLimiter({ points: 1, durationMs: Number.NaN })).toThrow(/durationMs/);
  });

  it('a hanging Redis costs at most redisTimeoutMs, then the insurance limiter answers', async () => {
    const hanging: RateLimitRedisClient = { status: 'ready', evalsha: () => new Promise(() => undefined), eval: () => new Promise(() => undefined) };
    const limiter = createRateLimiter({ redis: hanging, points: 1, durationMs: 60_000, redisTimeoutMs: 30 });
    const started = performance.now();
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, source: 'memory' });
    expect(performance.now() - started).toBeLessThan(500);
    // During the retry pause Redis is not tried at all.
    const again = performance.now();
    expect(await limiter.consume('k')).toMatchObject({ allowed: false, source: 'memory' });
    expect(performance.now() - again).toBeLessThan(20);
    expect(limiter.stats().redisFailures).toBe(1);
  });

  it('the wait for Redis is bounded by the request deadline, not only redisTimeoutMs', async () => {
    const hanging: RateLimitRedisClient = { status: 'ready', evalsha: () => new Promise(() => undefined), eval: () => new Promise(() => undefined) };
    const limiter = createRateLimiter({ redis: hanging, points: 5, durationMs: 60_000, redisTimeoutMs: 5_000 });
    const started = performance.now();
    await withDeadline(30, () => limiter.consume('k')).catch((err: unknown) => err);
    expect(performance.now() - started).toBeLessThan(1_000);
    // Outside a deadline, the next call is answered from memory during the retry pause.
    expect((await limiter.consume('k')).source).toBe('memory');
  });

  it("whenRedisUnavailable: 'open' lets requests through while Redis is not ready", async () => {
    const down: RateLimitRedisClient = { status: 'reconnecting', evalsha: () => Promise.reject(new Error('x')), eval: () => Promise.reject(new Error('x')) };
    const limiter = createRateLimiter({ redis: down, points: 1, durationMs: 60_000, whenRedisUnavailable: 'open' });
    for (let i = 0; i < 5; i++) expect((await limiter.consume('k')).source).toBe('open');
  });
});

describe.skipIf(!redisAvailable)('createRateLimiter (shared Redis)', () => {
  const prefix = `sg-test-rl-${randomBytes(4).toString('hex')}:`;
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    await ready(redis);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('counts atomically across instances (two processes sharing Redis) and concurrent requests', async () => {
    const a = createRateLimiter({ redis, prefix, points: 20, durationMs: 60_000, redisTimeoutMs: 2_000 });
    const b = createRateLimiter({ redis, prefix, points: 20, durationMs: 60_000, redisTimeoutMs: 2_000 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).consume('user:1')));
    expect(results.filter((r) => r.allowed)).toHaveLength(20);
    expect(results.every((r) => r.source === 'redis')).toBe(true);
    expect(new Set(results.map((r) => r.remaining))).toContain(0);
  });

  it('stores hashed keys with the window as TTL, never the raw key', async () => {
    const limiter = createRateLimiter({ redis, prefix, points: 5, durationMs: 30_000 });
    await limiter.consume('apikey:sb_secret_abc');
    const keys = await redis.keys(`${prefix}*`);
    expect(keys.some((k) => k.includes('sb_secret'))).toBe(false);
    const ttl = await redis.pttl(keys.find((k) => !k.endsWith('user:1')) ?? '');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('reloads the script after SCRIPT FLUSH (NOSCRIPT fallback)', async () => {
    const own = await startRedisServer();
    const client = await ready(new Redis(own.url));
    try {
      const limiter = createRateLimiter({ redis: client, points: 5, durationMs: 60_000, redisTimeoutMs: 2_000 });
      await limiter.consume('k');
      await client.script('FLUSH');
      expect(await limiter.consume('k')).toMatchObject({ source: 'redis', remaining: 3 });
    } finally {
      client.disconnect();
      await own.stop();
    }
  });
});

describe.skipIf(!redisAvailable)('createRateLimiter with its own redis-server killed mid-test', () => {
  let server: RedisProcess;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis(server.url, { retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    await ready(client);
  });
  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });

  it('Redis up → redis decisions; killed → insurance decisions at once; back → Redis again', async () => {
    const limiter = createRateLimiter({ redis: client, points: 1_000, durationMs: 60_000, redisTimeoutMs: 50, redisRetryAfterMs: 100 });
    for (let i = 0; i < 20; i++) expect((await limiter.consume('k')).source).toBe('redis');
    let insurance = 0;
    const disposeInsurance = subscribe(channels.rateLimitInsurance, () => insurance++);
    await server.kill();
    const slowest = { ms: 0 };
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      const r = await limiter.consume('k');
      slowest.ms = Math.max(slowest.ms, performance.now() - started);
      expect(r.allowed).toBe(true);
    }
    expect(limiter.stats().memoryDecisions).toBeGreaterThanOrEqual(49);
    expect(insurance).toBeGreaterThanOrEqual(49);
    disposeInsurance();
    expect(slowest.ms).toBeLessThan(500); // bounded by redisTimeoutMs, never a reconnect wait
    await server.restart();
    const until = Date.now() + 10_000;
    let source = '';
    while (source !== 'redis' && Date.now() < until) {
      source = (await limiter.consume('k')).source;
      await sleep(20);
    }
    expect(source).toBe('redis');
  });
});
