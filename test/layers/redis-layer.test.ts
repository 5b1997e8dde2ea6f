import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDeadline } from '../../src/index.js';
import { keySlot, redisLayer } from '../../src/redis.js';
import { runLayerConformance } from '../../src/testing.js';
import { REDIS_URL, requireService, startRedisServer, type RedisProcess } from '../helpers/services.js';

const available = await requireService('redis');
const filePrefix = `sg-test:${randomUUID()}:`;
const entry = (n: number) => ({ value: n, createdAt: 1, expiresAt: Date.now() + 60_000, staleUntil: Date.now() + 60_000, version: '7', tags: ['u:{x}'] });

describe.skipIf(!available)('redisLayer on the shared Redis', () => {
  const client = new Redis(REDIS_URL, { lazyConnect: false });
  beforeAll(async () => {
    await client.ping();
  });
  afterAll(async () => {
    await redisLayer({ client, prefix: filePrefix }).clear();
    client.disconnect();
  });
  // A generous per-command limit: the suite checks the contract, not latency, on a possibly loaded machine.
  runLayerConformance('redisLayer', () => redisLayer({ client, prefix: `${filePrefix}${randomUUID()}:`, timeoutMs: 2_000 }));

  it('treats a corrupt or foreign value as a miss', async () => {
    await client.ping();
    const layer = redisLayer<number>({ client, prefix: `${filePrefix}corrupt:` });
    await client.set(`${filePrefix}corrupt:bad`, '{not json');
    await client.set(`${filePrefix}corrupt:foreign`, JSON.stringify({ hello: 1 }));
    expect(await layer.getMany(['bad', 'foreign'])).toEqual([undefined, undefined]);
  });

  it('reads issued in the same tick share one MGET, each caller getting its own keys', async () => {
    const layer = redisLayer<number>({ client, prefix: `${filePrefix}batch:` });
    await Promise.all(Array.from({ length: 50 }, (_, i) => layer.set(`k${i}`, entry(i), 60_000)));
    const original = client.mgetBuffer.bind(client);
    let commands = 0;
    let keysSent = 0;
    client.mgetBuffer = ((...args: Parameters<typeof original>) => {
      commands++;
      keysSent += args.length;
      return original(...args);
    }) as typeof client.mgetBuffer;
    try {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => layer.getMany([`k${i}`, 'absent', `k${(i + 1) % 50}`])));
      expect(commands).toBe(1);
      expect(keysSent).toBe(51); // each distinct key once: k0…k49 and 'absent'
      results.forEach((got, i) => expect(got.map((e) => e?.value)).toEqual([i, undefined, (i + 1) % 50]));
    } finally {
      client.mgetBuffer = original;
    }
  });

  it('handles ioredis error events itself', () => {
    const fresh = new Redis(REDIS_URL, { lazyConnect: true });
    const before = fresh.listenerCount('error');
    const layer = redisLayer({ client: fresh, prefix: 'x:' });
    expect(fresh.listenerCount('error')).toBe(before + 1);
    layer.close();
    expect(fresh.listenerCount('error')).toBe(before);
    fresh.disconnect();
  });

  it('rejects a bad configuration with E_CONFIG', () => {
    expect(() => redisLayer({ client: {} as Redis, prefix: 'x:' })).toThrow(expect.objectContaining({ code: 'E_CONFIG', field: 'client' }));
    expect(() => redisLayer({ client, prefix: '' })).toThrow(expect.objectContaining({ field: 'prefix' }));
    expect(() => redisLayer({ client, prefix: 'x', timeoutMs: 0 })).toThrow(expect.objectContaining({ field: 'timeoutMs' }));
  });
});

describe('keySlot', () => {
  it('matches Redis Cluster slots and honours hash tags', () => {
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    // An empty tag `{}` does not count: the whole key is hashed.
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
    expect(keySlot('authz:{u1}:r:read')).toBe(keySlot('stamp:u:{u1}'));
  });
});

describe.skipIf(!available)('redisLayer when Redis fails (own redis-server)', () => {
  let server: RedisProcess;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 20 });
    await client.ping();
  });
  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });

  it('times out a stalled command at timeoutMs, opens the breaker, then skips Redis until a probe succeeds', async () => {
    const layer = redisLayer<number>({ client, prefix: 'stall:', timeoutMs: 50, breaker: { failureThreshold: 1, resetMs: 300 } });
    await layer.set('a', entry(1), 60_000);
    const blocker = new Redis(server.url);
    // CLIENT PAUSE stalls every client's commands, like an overloaded or partitioned server.
    await blocker.call('CLIENT', 'PAUSE', '400', 'ALL');
    const started = performance.now();
    await expect(layer.get('a')).rejects.toMatchObject({ code: 'E_TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(500);
    expect(layer.stats().breaker).toBe('open');
    await expect(layer.get('a')).rejects.toMatchObject({ code: 'E_CIRCUIT_OPEN' });
    await new Promise((r) => setTimeout(r, 700));
    expect((await layer.get('a'))?.value).toBe(1);
    expect(layer.stats().breaker).toBe('closed');
    blocker.disconnect();
  });

  it('a request deadline bounds the command without opening the breaker', async () => {
    const layer = redisLayer<number>({ client, prefix: 'deadline:', timeoutMs: 1_000 });
    const blocker = new Redis(server.url);
    await blocker.call('CLIENT', 'PAUSE', '200', 'ALL');
    await expect(withDeadline(15, () => layer.get('a'))).rejects.toMatchObject({ code: 'E_DEADLINE' });
    expect(layer.stats().breaker).toBe('closed');
    await new Promise((r) => setTimeout(r, 300));
    blocker.disconnect();
  });

  it('a write ends as soon as its enclosing deadline aborts (the caller gave up), long before timeoutMs', async () => {
    const layer = redisLayer<number>({ client, prefix: 'abort:', timeoutMs: 1_000 });
    const blocker = new Redis(server.url);
    await blocker.call('CLIENT', 'PAUSE', '300', 'ALL');
    const caller = new AbortController();
    setTimeout(() => caller.abort(new Error('client went away')), 20);
    const started = performance.now();
    let write: Promise<unknown> | undefined;
    await withDeadline(5_000, () => (write = layer.set('a', entry(1), 60_000)), { signal: caller.signal }).catch(() => undefined);
    // The write itself (not only the deadline's race) settles at the abort.
    const err = await write?.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_ABORTED' });
    expect(performance.now() - started).toBeLessThan(250);
    expect(layer.stats().breaker).toBe('closed');
    await new Promise((r) => setTimeout(r, 400));
    blocker.disconnect();
  });

  it('after SIGKILL nothing waits in the offline queue, and L2 works again after restart', async () => {
    const layer = redisLayer<number>({ client, prefix: 'kill:', timeoutMs: 50, breaker: { failureThreshold: 1, resetMs: 60_000 } });
    await layer.set('a', entry(1), 60_000);
    await server.kill();
    const started = performance.now();
    // Either the closed socket is already known (E_CIRCUIT_OPEN) or the in-flight command fails or times out.
    await expect(layer.get('a')).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(500);
    await expect(layer.getMany(['a', 'b'])).rejects.toMatchObject({ code: 'E_CIRCUIT_OPEN' });
    expect((client as unknown as { offlineQueue: { length: number } }).offlineQueue.length).toBe(0);
    await server.restart();
    await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
    // The client's `ready` lets a probe through at once, long before resetMs (60 s).
    await layer.set('b', entry(2), 60_000);
    expect((await layer.get('b'))?.value).toBe(2);
    expect(layer.stats().breaker).toBe('closed');
  });
});
