import { describe, expect, it } from 'vitest';
import { createAuthorizationCache, MemoryLayer, memoryLayer, type Decision, type MemoryLayerOptions } from '../../src/index.js';
import { runLayerConformance } from '../../src/testing.js';

runLayerConformance("memoryLayer({ admission: 'tinylfu' })", () => memoryLayer({ max: 10_000, admission: 'tinylfu' }));

const e = (n: number) => ({ value: n, createdAt: 0, expiresAt: Date.now() + 1e6, staleUntil: Date.now() + 1e6, version: '1', tags: [] });

/** What the authorization cache does on a miss: a read that misses, then the loaded entry is set. */
async function missThenSet(layer: ReturnType<typeof memoryLayer<number>>, key: string, n: number): Promise<void> {
  layer.peek(key);
  await layer.set(key, e(n), 60_000);
}

/** 500 entries read 4 times each, then a scan of 3,000 one-off keys; resolves to how many of the 500 are still held. */
async function hotSurvivingScan(admission: MemoryLayerOptions['admission']): Promise<number> {
  const layer = memoryLayer<number>({ max: 500, admission });
  for (let i = 0; i < 500; i++) await missThenSet(layer, `hot-${i}`, i);
  for (let round = 0; round < 4; round++) for (let i = 0; i < 500; i++) layer.peek(`hot-${i}`);
  for (let i = 0; i < 3_000; i++) await missThenSet(layer, `scan-${i}`, i);
  let held = 0;
  for (let i = 0; i < 500; i++) if (layer.peek(`hot-${i}`) !== undefined) held++;
  expect(layer.stats().size).toBe(500);
  return held;
}

describe("memoryLayer({ admission: 'tinylfu' })", () => {
  it('keeps frequently read entries through a scan of one-off keys (plain LRU loses them all)', async () => {
    expect(await hotSurvivingScan('always')).toBe(0);
    // Hash collisions can let a few scanned keys look popular (the sketch is seeded at random): 485–500 in 300 runs.
    expect(await hotSurvivingScan('tinylfu')).toBeGreaterThanOrEqual(475);
  });

  it('admits new keys freely until full, and a key read more often than the LRU victim once full', async () => {
    const layer = memoryLayer<number>({ max: 2, admission: 'tinylfu' });
    await missThenSet(layer, 'a', 1);
    await missThenSet(layer, 'b', 2);
    expect(layer.stats().size).toBe(2);
    await missThenSet(layer, 'c', 3); // seen once, like the victim a: not admitted
    expect(layer.peek('c')).toBeUndefined();
    expect(layer.peek('a')?.value).toBe(1);
    for (let i = 0; i < 5; i++) layer.peek('c'); // c's misses are counted: now more popular than b
    await layer.set('c', e(3), 60_000);
    expect(layer.peek('c')?.value).toBe(3);
    expect(layer.peek('b')).toBeUndefined();
    expect(layer.stats().size).toBe(2);
  });

  it('always applies an overwrite of a key it holds, however rarely read', async () => {
    const layer = memoryLayer<number>({ max: 2, admission: 'tinylfu' });
    await missThenSet(layer, 'cold', 1);
    await missThenSet(layer, 'hot', 2);
    for (let i = 0; i < 10; i++) layer.peek('hot');
    const hint = { slot: undefined as unknown };
    expect(layer.peek('cold', hint)?.value).toBe(1);
    await layer.set('cold', e(10), 60_000); // full, cold is the rarest, yet the new value is taken
    expect(layer.peek('cold')?.value).toBe(10);
    expect(layer.peek('cold', hint)?.value).toBe(10); // the hint to the replaced entry is never trusted
    expect(layer.peek('hot')?.value).toBe(2);
  });

  it('drops a rejected key’s write entirely, and still deletes, expires and clears', async () => {
    const layer = memoryLayer<number>({ max: 2, admission: 'tinylfu' });
    await missThenSet(layer, 'a', 1);
    await missThenSet(layer, 'b', 2);
    for (let i = 0; i < 3; i++) {
      layer.peek('a');
      layer.peek('b');
    }
    await missThenSet(layer, 'x', 9); // rejected: a and b were read more often
    expect((await layer.getMany(['a', 'b', 'x'])).map((entry) => entry?.value)).toEqual([1, 2, undefined]);
    expect(layer.stats().size).toBe(2);
    await layer.delete('a');
    expect(layer.peek('a')).toBeUndefined();
    await missThenSet(layer, 'x', 9); // room again: admitted without a contest
    expect(layer.peek('x')?.value).toBe(9);
    await layer.set('b', e(2), 0); // a non-positive TTL removes
    expect(layer.peek('b')).toBeUndefined();
    await layer.clear();
    expect(layer.stats().size).toBe(0);
  });

  it('lets a newcomer replace a victim past its own deadline', async () => {
    const layer = memoryLayer<number>({ max: 1, admission: 'tinylfu', ttlMs: 20 });
    await missThenSet(layer, 'old', 1);
    for (let i = 0; i < 10; i++) layer.peek('old');
    await new Promise((r) => setTimeout(r, 40));
    await missThenSet(layer, 'new', 2);
    expect(layer.peek('new')?.value).toBe(2);
  });

  it('rejects an unknown admission policy, or tinylfu asked of the plain class, with E_CONFIG', () => {
    expect(() => memoryLayer({ admission: 'lfu' as never })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    expect(() => new MemoryLayer({ admission: 'tinylfu' })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    expect(memoryLayer({ admission: 'tinylfu' })).toBeInstanceOf(MemoryLayer);
    expect(memoryLayer({ admission: 'always' }).stats().size).toBe(0);
  });

  it('keeps the authorization cache’s answers correct: rejected keys are loaded, invalidations and sets apply', async () => {
    const allowed = new Map<string, boolean>();
    let loads = 0;
    const cache = createAuthorizationCache({
      layers: [memoryLayer<Decision>({ max: 50, admission: 'tinylfu' })],
      loader: async (requests) => requests.map((r) => (loads++, { allowed: allowed.get(r.resourceId) ?? false })),
      ttlMs: 60_000,
    });
    const resource = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const req = (i: number) => ({ userId: '00000000-0000-4000-8000-000000000001', resourceId: resource(i), action: 'read' });
    for (let i = 0; i < 250; i++) allowed.set(resource(i), i % 3 === 0);
    // Fifty hot requests fill the L1 and are checked five times each; then a scan of 200 others.
    for (let round = 0; round < 5; round++) for (let i = 0; i < 50; i++) expect(await cache.check(req(i))).toEqual({ allowed: i % 3 === 0 });
    for (let i = 50; i < 250; i++) expect(await cache.check(req(i))).toEqual({ allowed: i % 3 === 0 });
    expect(loads).toBe(250); // each request loaded once: the hot ones were hits, rejected scans are not cached
    const held = Array.from({ length: 50 }, (_, i) => i).filter((i) => cache.peek(req(i)) !== undefined);
    expect(held.length).toBeGreaterThanOrEqual(45); // 48–50 in 200 runs (the sketch is seeded at random)
    for (const i of held) expect(cache.peek(req(i))).toEqual({ allowed: i % 3 === 0 });
    // An invalidation removes a held entry; the next check loads the new decision.
    const [first, second] = held as [number, number];
    allowed.set(resource(first), !allowed.get(resource(first)));
    await cache.invalidate({ key: req(first) });
    expect(cache.peek(req(first))).toBeUndefined();
    expect(await cache.check(req(first))).toEqual({ allowed: allowed.get(resource(first)) });
    // A set of a held key is applied.
    const flipped = { allowed: !(second % 3 === 0) };
    await cache.set(req(second), flipped);
    expect(cache.peek(req(second))).toEqual(flipped);
    expect(await cache.check(req(second))).toEqual(flipped);
    await cache.close();
  });
});
