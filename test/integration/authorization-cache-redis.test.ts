import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizationCache, memoryLayer, type AuthorizationCache, type AuthorizationRequest, type Decision } from '../../src/index.js';
import { redisInvalidationBus, redisLayer, type RedisInvalidationBus } from '../../src/redis.js';
import { controllableLoader, req } from '../cache/fixtures.js';
import { REDIS_URL, requireService } from '../helpers/services.js';

const available = await requireService('redis');
const prefix = `sg-test:${randomUUID()}:`;
const channel = `sg-test:${randomUUID()}`;

/** One application instance: its own two Redis connections, L1, L2 and bus. */
async function instance(loader: ReturnType<typeof controllableLoader>['loader']) {
  const client = new Redis(REDIS_URL);
  const subscriber = new Redis(REDIS_URL, { connectionName: `sg-sub-${randomUUID()}` });
  const bus = redisInvalidationBus({ publisher: client, subscriber, channel });
  const cache = createAuthorizationCache({
    layers: [memoryLayer<Decision>({ max: 10_000 }), redisLayer<Decision>({ client, prefix, timeoutMs: 1_000 })],
    loader,
    bus,
    ttlMs: 60_000,
  });
  await bus.ready();
  return { client, subscriber, bus, cache };
}

const waitFor = async (condition: () => boolean, ms = 2_000): Promise<void> => {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe.skipIf(!available)('AuthorizationCache on real Redis: two instances, separate connections', () => {
  const { loader, state } = controllableLoader((r) => ({ allowed: r.action !== 'delete', tags: ['team-a'] }));
  let a: Awaited<ReturnType<typeof instance>>;
  let b: Awaited<ReturnType<typeof instance>>;
  beforeAll(async () => {
    a = await instance(loader);
    b = await instance(loader);
  });
  afterAll(async () => {
    for (const x of [a, b]) {
      await x.cache.close();
      await x.bus.close();
    }
    await redisLayer({ client: a.client, prefix }).clear();
    for (const x of [a, b]) {
      x.client.disconnect();
      x.subscriber.disconnect();
    }
  });

  it('L2 answers the second instance; L1 answers repeats', async () => {
    const r = req();
    await a.cache.check(r);
    const calls = state.calls;
    expect(await b.cache.check(r)).toEqual({ allowed: true, tags: ['team-a'] });
    expect(await b.cache.check(r)).toEqual({ allowed: true, tags: ['team-a'] });
    expect(state.calls).toBe(calls);
    expect(b.cache.stats().layers.map((l) => l.hits)).toEqual([1, 1]);
  });

  it('checkMany makes one loader call for all misses', async () => {
    const rs = Array.from({ length: 50 }, () => req());
    const calls = state.calls;
    const out = await a.cache.checkMany(rs);
    expect(out).toHaveLength(50);
    expect(state.calls).toBe(calls + 1);
    const fromL2 = await b.cache.checkMany(rs);
    expect(fromL2.every((d) => d.allowed)).toBe(true);
    expect(state.calls).toBe(calls + 1);
  });

  it('an invalidation in one instance removes the entry from the other’s L1 (propagation p50/p99 reported)', async () => {
    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const r: AuthorizationRequest = req();
      await a.cache.check(r);
      await b.cache.check(r);
      expect(b.cache.peek(r)).toBeDefined();
      let receivedAt = 0;
      const off = b.cache.on('invalidate', (e) => {
        if (e.source === 'bus') receivedAt = performance.now();
      });
      const started = performance.now();
      await a.cache.invalidate({ key: r });
      await waitFor(() => receivedAt > 0);
      off();
      samples.push(receivedAt - started);
      expect(b.cache.peek(r)).toBeUndefined();
    }
    samples.sort((x, y) => x - y);
    const p50 = samples[Math.floor(samples.length * 0.5)] as number;
    const p99 = samples[Math.floor(samples.length * 0.99)] as number;
    console.log(`invalidation propagation over Redis pub/sub (200 runs): p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`);
    // Generous bound (loaded CI machine); the figure itself is what the issue asks to report.
    expect(p99).toBeLessThan(250);
  });

  it('scope invalidations (user, resource, tag) reach the other instance and stamp L2 for late joiners', async () => {
    const r = req();
    const other = req();
    await a.cache.checkMany([r, other]);
    await b.cache.checkMany([r, other]);
    for (const target of [{ userId: r.userId }, { resourceId: r.resourceId }, { tag: 'team-a' }]) {
      let seen = false;
      const off = b.cache.on('invalidate', (e) => (seen ||= e.source === 'bus'));
      await a.cache.invalidate(target);
      await waitFor(() => seen);
      off();
      expect(b.cache.peek(r)).toBeUndefined();
      await b.cache.check(r);
    }
    const late = await instance(loader);
    const calls = state.calls;
    await a.cache.invalidate({ userId: other.userId });
    // `late` never saw a message about `other`'s user before subscribing, and reads the stamp from L2.
    await late.cache.check(other);
    expect(state.calls).toBe(calls + 1);
    await late.cache.close();
    await late.bus.close();
    late.client.disconnect();
    late.subscriber.disconnect();
  });

  it('when the subscriber connection drops, L1 is flushed once the subscription is back', async () => {
    const r = req();
    await b.cache.check(r);
    expect(b.cache.peek(r)).toBeDefined();
    let reconnects = 0;
    const off = b.cache.on('invalidate', (e) => (reconnects += e.source === 'reconnect' ? 1 : 0));
    const name = b.subscriber.options.connectionName as string;
    const list = (await a.client.client('LIST')) as string;
    const id = /id=(\d+) /.exec(list.split('\n').find((line) => line.includes(`name=${name} `)) ?? '')?.[1];
    expect(id).toBeDefined();
    // Kills only this test's own subscriber connection on the shared Redis.
    await a.client.client('KILL', 'ID', id as string);
    await waitFor(() => reconnects === 1, 10_000);
    off();
    expect(b.cache.peek(r)).toBeUndefined();
    // Delivery works again after the reconnect.
    await b.cache.check(r);
    let seen = false;
    const off2 = b.cache.on('invalidate', (e) => (seen ||= e.source === 'bus'));
    await a.cache.invalidate({ key: r });
    await waitFor(() => seen);
    off2();
    expect(b.cache.peek(r)).toBeUndefined();
  });

  it('the bus rejects a shared connection and ignores malformed messages', async () => {
    expect(() => redisInvalidationBus({ publisher: a.client, subscriber: a.client })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    const r = req();
    await b.cache.check(r);
    await a.client.publish(channel, 'not json');
    await a.client.publish(channel, JSON.stringify({ o: 'x', v: '-1', k: [b.cache.keyOf(r)] }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(b.cache.peek(r)).toBeDefined();
    void (a.bus as RedisInvalidationBus);
  });

  it('an instance skips its own messages', async () => {
    const sources: string[] = [];
    const cacheA: AuthorizationCache = a.cache;
    const off = cacheA.on('invalidate', (e) => sources.push(e.source));
    await cacheA.invalidate({ key: req() });
    await new Promise((resolve) => setTimeout(resolve, 50));
    off();
    expect(sources).toEqual(['local']);
  });
});
