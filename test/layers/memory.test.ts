import { describe, expect, it } from 'vitest';
import { createAuthorizationCache, memoryLayer, type Decision } from '../../src/index.js';
import { runLayerConformance } from '../../src/testing.js';

runLayerConformance('memoryLayer', () => memoryLayer({ max: 10_000 }));

describe('memoryLayer', () => {
  it('evicts the least recently used entry beyond max', async () => {
    const layer = memoryLayer<number>({ max: 2 });
    const e = (n: number) => ({ value: n, createdAt: 0, expiresAt: Date.now() + 1e6, staleUntil: Date.now() + 1e6, version: '1', tags: [] });
    await layer.set('a', e(1), 60_000);
    await layer.set('b', e(2), 60_000);
    layer.peek('a');
    await layer.set('c', e(3), 60_000);
    expect(layer.peek('b')).toBeUndefined();
    expect(layer.peek('a')?.value).toBe(1);
    expect(layer.stats().size).toBe(2);
  });

  it('caps an entry’s time in memory at ttlMs', async () => {
    const layer = memoryLayer<number>({ max: 10, ttlMs: 30 });
    await layer.set('a', { value: 1, createdAt: 0, expiresAt: Date.now() + 1e6, staleUntil: Date.now() + 1e6, version: '1', tags: [] }, 60_000);
    await new Promise((r) => setTimeout(r, 80));
    expect(layer.peek('a')).toBeUndefined();
  });

  it('keeps the ttlMs cap on the cache’s L1 hit path (peek and check)', async () => {
    let loads = 0;
    const cache = createAuthorizationCache({
      layers: [memoryLayer<Decision>({ max: 10, ttlMs: 1_100 })],
      loader: async (requests) => requests.map(() => (loads++, { allowed: true })),
      ttlMs: 60_000,
    });
    const request = { userId: '00000000-0000-4000-8000-000000000001', resourceId: '00000000-0000-4000-8000-000000000002', action: 'read' };
    await cache.check(request);
    expect(cache.peek(request)).toEqual({ allowed: true });
    await cache.check(request);
    expect(loads).toBe(1);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(cache.peek(request)).toBeUndefined();
    await cache.check(request);
    expect(loads).toBe(2);
    await cache.close();
  });

  it('rejects a bad configuration with E_CONFIG', () => {
    expect(() => memoryLayer({ max: 0 })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    expect(() => memoryLayer({ ttlMs: -1 })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
  });
});

describe('memoryLayer peek hints', () => {
  const e = (n: number) => ({ value: n, createdAt: 0, expiresAt: Date.now() + 1e6, staleUntil: Date.now() + 1e6, version: '1', tags: [] });

  it('answers a hinted peek without a lookup while the entry is held, and never after it is evicted', async () => {
    const layer = memoryLayer<number>({ max: 2 });
    await layer.set('a', e(1), 60_000);
    const hint = { slot: undefined as unknown };
    expect(layer.peek('a', hint)).toBe(layer.peek('a'));
    expect(hint.slot).toBeDefined();
    await layer.set('b', e(2), 60_000);
    await layer.set('c', e(3), 60_000); // evicts a (b and c are newer)
    expect(layer.peek('a', hint)).toBeUndefined();
    expect(layer.peek('a')).toBeUndefined();
  });

  it('keeps a hot entry read only through its hint at the fresh end of the LRU, within one millisecond too', async () => {
    const layer = memoryLayer<number>({ max: 2 });
    const hint = { slot: undefined as unknown };
    await layer.set('hot', e(1), 60_000);
    layer.peek('hot', hint);
    await layer.set('cold', e(2), 60_000);
    expect(layer.peek('hot', hint)?.value).toBe(1); // refreshes recency: a write happened since the last refresh
    await layer.set('new', e(3), 60_000); // evicts the least recently used: cold, not hot
    expect(layer.peek('cold')).toBeUndefined();
    expect(layer.peek('hot', hint)?.value).toBe(1);
  });

  it('never trusts a hint filled by another layer', async () => {
    const first = memoryLayer<number>({ max: 10 });
    const second = memoryLayer<number>({ max: 10 });
    const hint = { slot: undefined as unknown };
    await first.set('k', e(1), 60_000);
    await second.set('k', e(2), 60_000);
    expect(first.peek('k', hint)?.value).toBe(1);
    expect(second.peek('k', hint)?.value).toBe(2);
    expect(first.peek('k', hint)?.value).toBe(1);
    await second.delete('k');
    expect(second.peek('k', hint)).toBeUndefined();
    expect(first.peek('k', hint)?.value).toBe(1);
  });

  it('serves invalidations and evictions to the authorization cache’s remembered keys', async () => {
    let loads = 0;
    const cache = createAuthorizationCache({
      layers: [memoryLayer<Decision>({ max: 1 })],
      loader: async (requests) => requests.map(() => ({ allowed: ++loads % 2 === 1 })),
      ttlMs: 60_000,
    });
    const a = { userId: '00000000-0000-4000-8000-000000000001', resourceId: '00000000-0000-4000-8000-000000000002', action: 'read' };
    const b = { ...a, action: 'write' };
    expect(await cache.check(a)).toEqual({ allowed: true });
    expect(cache.peek(a)).toEqual({ allowed: true });
    await cache.check(b); // evicts a (max 1)
    expect(cache.peek(a)).toBeUndefined();
    expect(await cache.check(a)).toEqual({ allowed: true });
    await cache.invalidate({ key: a });
    expect(cache.peek(a)).toBeUndefined();
    expect(loads).toBe(3);
    await cache.close();
  });
});
