import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizationCache, memoryLayer, type Decision } from '../../src/index.js';
import { redisLayer } from '../../src/redis.js';
import { controllableLoader, req } from '../cache/fixtures.js';
import { requireService, startRedisServer, type RedisProcess } from '../helpers/services.js';

const available = await requireService('redis');
const TIMEOUT_MS = 50;

describe.skipIf(!available)('Redis outage (own redis-server, SIGKILL halfway, restart)', () => {
  let server: RedisProcess;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis(server.url, { retryStrategy: () => 25 });
    await client.ping();
  });
  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });

  it('2,000 checks: none fails, the first miss after the kill is bounded, L2 is used again after restart', async () => {
    const { loader } = controllableLoader();
    const l2 = redisLayer<Decision>({ client, prefix: 'outage:', timeoutMs: TIMEOUT_MS, breaker: { failureThreshold: 1, resetMs: 200 } });
    const cache = createAuthorizationCache({ layers: [memoryLayer<Decision>({ max: 200 }), l2], loader, ttlMs: 60_000 });
    const pool = Array.from({ length: 400 }, () => req());
    let failed = 0;
    let firstMissAfterKillMs = -1;
    const skippedMissMs: number[] = [];
    let l2HitsAtRestart = 0;

    for (let i = 0; i < 2_000; i++) {
      if (i === 1_000) await server.kill();
      if (i === 1_500) {
        await server.restart();
        await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
        l2HitsAtRestart = cache.stats().layers[1]?.hits ?? 0;
      }
      // Right after the kill, and a few times while Redis is down, check a key nobody has seen: a guaranteed L1 miss.
      const fresh = i === 1_000 || (i > 1_000 && i < 1_500 && i % 50 === 0);
      const r = fresh ? req() : (pool[(i * 7_919) % pool.length] as ReturnType<typeof req>);
      const started = performance.now();
      try {
        await cache.check(r);
      } catch {
        failed++;
      }
      const elapsed = performance.now() - started;
      if (i === 1_000) firstMissAfterKillMs = elapsed;
      else if (fresh) skippedMissMs.push(elapsed);
    }

    const stats = cache.stats();
    skippedMissMs.sort((a, b) => a - b);
    console.log(
      `outage: first miss after SIGKILL ${firstMissAfterKillMs.toFixed(2)} ms; later misses while down p50 ${skippedMissMs[Math.floor(skippedMissMs.length / 2)]?.toFixed(3)} ms; ` +
        `L2 hits ${l2HitsAtRestart} before restart, ${stats.layers[1]?.hits} after; L2 errors ${stats.layers[1]?.errors}`,
    );
    expect(failed).toBe(0);
    expect(firstMissAfterKillMs).toBeLessThanOrEqual(TIMEOUT_MS + 10);
    expect(l2HitsAtRestart).toBeGreaterThan(0);
    expect(stats.layers[1]?.hits).toBeGreaterThan(l2HitsAtRestart);
    expect(stats.layers[1]?.errors).toBeGreaterThan(0);
    await cache.close();
  });
});
