// Rate limiting through both adapters, on listening servers, while the test's own
// redis-server is up, SIGKILLed mid-run, and started again.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler, rateLimit, type RateLimitMiddleware } from '../../src/express.js';
import { supaguard } from '../../src/fastify.js';
import { makeTokens } from '../adapters/fixtures.js';
import { requireService, startRedisServer, type RedisProcess } from '../helpers/services.js';

const available = await requireService('redis');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!available)('rate limit through the adapters with Redis up, killed and back', () => {
  let redisServer: RedisProcess;
  let redis: Redis;
  let expressServer: Server;
  let fastify: FastifyInstance;
  let limiter: RateLimitMiddleware;
  const bases: Record<'express' | 'fastify', string> = { express: '', fastify: '' };
  const limits = { points: 1_000_000, durationMs: 60_000, redisTimeoutMs: 50, redisRetryAfterMs: 100 };

  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = new Redis(redisServer.url, { retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    if (redis.status !== 'ready') await once(redis, 'ready');

    const app = express();
    limiter = rateLimit({ redis, ...limits, key: () => 'express' });
    app.get('/', limiter, (_req, res) => void res.json({ ok: true }));
    app.use(errorHandler());
    expressServer = app.listen(0, '127.0.0.1');
    await once(expressServer, 'listening');
    bases.express = `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}/`;

    const tokens = await makeTokens();
    fastify = Fastify();
    await fastify.register(supaguard, { verifier: tokens.verifier, redis, rateLimit: { ...limits, key: () => 'fastify' } });
    fastify.get('/', { config: { supaguard: { public: true } } }, async () => ({ ok: true }));
    bases.fastify = await fastify.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await new Promise((r) => expressServer?.close(r));
    await fastify?.close();
    redis?.disconnect();
    await redisServer?.stop();
  });

  const burst = async (n: number): Promise<{ statuses: number[]; slowestMs: number; remaining: Set<string> }> => {
    const statuses: number[] = [];
    const remaining = new Set<string>();
    let slowestMs = 0;
    for (let i = 0; i < n; i++) {
      for (const base of Object.values(bases)) {
        const started = performance.now();
        const res = await fetch(base);
        await res.arrayBuffer();
        slowestMs = Math.max(slowestMs, performance.now() - started);
        statuses.push(res.status);
        remaining.add(res.headers.get('ratelimit-remaining') ?? 'missing');
      }
    }
    return { statuses, slowestMs, remaining };
  };

  it('no 5xx and bounded latency in every phase; Redis is used again after it returns', async () => {
    const up = await burst(20);
    expect(new Set(up.statuses)).toEqual(new Set([200]));
    expect(limiter.limiter.stats().redisDecisions).toBe(20);

    await redisServer.kill();
    const down = await burst(30);
    expect(new Set(down.statuses)).toEqual(new Set([200]));
    expect(down.remaining.has('missing')).toBe(false);
    expect(down.slowestMs).toBeLessThan(1_000);
    expect(limiter.limiter.stats().memoryDecisions).toBeGreaterThanOrEqual(29);

    await redisServer.restart();
    const before = limiter.limiter.stats().redisDecisions;
    const until = Date.now() + 10_000;
    while (limiter.limiter.stats().redisDecisions === before && Date.now() < until) {
      const back = await burst(1);
      expect(back.statuses.every((s) => s === 200)).toBe(true);
      await sleep(25);
    }
    expect(limiter.limiter.stats().redisDecisions).toBeGreaterThan(before);
    // The restarted (empty) server holds counters again.
    expect(Number(await redis.dbsize())).toBeGreaterThanOrEqual(1);
  });

  it('enforces the limit from memory while Redis is down (429, not 5xx)', async () => {
    await redisServer.kill();
    const app = express();
    app.get('/', rateLimit({ redis, points: 3, durationMs: 60_000, redisRetryAfterMs: 100, key: () => 'tight' }), (_req, res) => void res.json({}));
    app.use(errorHandler());
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(url)).status);
    await new Promise((r) => server.close(r));
    await redisServer.restart();
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });
});
