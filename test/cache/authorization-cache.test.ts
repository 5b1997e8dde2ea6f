import { describe, expect, it } from 'vitest';
import { createAuthorizationCache, memoryLayer, withDeadline, type AuthorizationCacheOptions, type Decision } from '../../src/index.js';
import { controllableLoader, req, SharedRemoteLayer, sleep } from './fixtures.js';

function setup(overrides: Partial<AuthorizationCacheOptions> = {}, decide?: Parameters<typeof controllableLoader>[0]) {
  const { loader, state } = controllableLoader(decide);
  const l1 = memoryLayer<Decision>({ max: 1_000 });
  const cache = createAuthorizationCache({ layers: [l1], loader, ttlMs: 60_000, ...overrides });
  return { cache, l1, state };
}

describe('createAuthorizationCache: read path', () => {
  it('loads a miss once, then answers from L1', async () => {
    const { cache, state } = setup();
    const r = req();
    expect(await cache.check(r)).toEqual({ allowed: true });
    expect(await cache.check(r)).toEqual({ allowed: true });
    expect(state.calls).toBe(1);
    const stats = cache.stats();
    expect(stats.hits).toBe(1);
    expect(stats.misses).toBe(1);
    expect(stats.hitRatio).toBe(0.5);
    expect(stats.layers[0]).toMatchObject({ name: 'memory', kind: 'local', hits: 1, misses: 1 });
    expect(stats.loader.calls).toBe(1);
  });

  it('single-flight: 100 concurrent misses on one key make one loader call', async () => {
    const { cache, state } = setup();
    state.delayMs = 20;
    const r = req();
    const results = await Promise.all(Array.from({ length: 100 }, () => cache.check(r)));
    expect(state.calls).toBe(1);
    expect(results.every((d) => d.allowed)).toBe(true);
  });

  it('checkMany: one loader call for all misses, answers in order, duplicates collapsed', async () => {
    const { cache, state } = setup({}, (r) => ({ allowed: r.action === 'read' }));
    const a = req();
    const b = req(a.userId, undefined, 'write');
    await cache.check(a);
    const c = req();
    const out = await cache.checkMany([a, b, c, b]);
    expect(out.map((d) => d.allowed)).toEqual([true, false, true, false]);
    expect(state.calls).toBe(2);
    expect(state.requests[1]).toHaveLength(2);
  });

  it('caches denials with their own (negative) TTL', async () => {
    const { cache, state } = setup({ ttlMs: 60_000, negativeTtlMs: 300, jitter: 0 }, (r) => ({ allowed: r.action === 'read', reason: 'no-role' }));
    const deny = req(undefined, undefined, 'delete');
    const allow = req();
    expect(await cache.check(deny)).toEqual({ allowed: false, reason: 'no-role' });
    await cache.check(allow);
    await cache.check(deny);
    expect(state.calls).toBe(2);
    await sleep(450);
    await cache.check(deny);
    await cache.check(allow);
    expect(state.calls).toBe(3);
  });

  it('spreads TTLs by ±10 % jitter', async () => {
    const { cache, l1 } = setup({ ttlMs: 10_000 });
    const requests = Array.from({ length: 200 }, () => req());
    await cache.checkMany(requests);
    const ttls = requests.map((r) => {
      const e = l1.peek(cache.keyOf(r));
      return (e?.expiresAt ?? 0) - (e?.createdAt ?? 0);
    });
    expect(Math.min(...ttls)).toBeGreaterThanOrEqual(9_000);
    expect(Math.max(...ttls)).toBeLessThanOrEqual(11_000);
    expect(new Set(ttls).size).toBeGreaterThan(50);
  });

  it('backfills L1 from L2 with the remaining TTL, not a fresh one', async () => {
    const shared = new SharedRemoteLayer<Decision>();
    const { loader, state } = controllableLoader();
    const first = createAuthorizationCache({ layers: [memoryLayer({ max: 10 }), shared], loader, ttlMs: 300, jitter: 0 });
    const r = req();
    await first.check(r);
    const key = first.keyOf(r);
    const original = await shared.get(key);
    await sleep(100);
    const l1 = memoryLayer<Decision>({ max: 10 });
    const second = createAuthorizationCache({ layers: [l1, shared], loader, ttlMs: 300, jitter: 0 });
    expect(await second.check(r)).toEqual({ allowed: true });
    expect(state.calls).toBe(1);
    expect(l1.peek(key)?.expiresAt).toBe(original?.expiresAt);
    expect(second.stats().layers.map((l) => l.hits)).toEqual([0, 1]);
    await sleep(250);
    expect(l1.peek(key)).toBeUndefined();
  });

  it('peek answers synchronously from L1 only; an answer counts as a hit, undefined counts nothing', async () => {
    const { cache } = setup();
    const r = req();
    const hits: string[] = [];
    cache.on('hit', (e) => hits.push(e.layer));
    expect(cache.peek(r)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0 });
    await cache.check(r);
    expect(cache.peek(r)).toEqual({ allowed: true });
    expect(cache.peek(r)).toEqual({ allowed: true });
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1 });
    expect(cache.stats().layers[0]).toMatchObject({ hits: 2 });
    expect(hits).toEqual(['memory', 'memory']);
  });

  it('warm fills the cache from decisions and from the loader', async () => {
    const { cache, state } = setup();
    const given = req();
    const loaded = Array.from({ length: 150 }, () => req());
    async function* source() {
      yield { ...given, decision: { allowed: false, reason: 'warm' } };
      for (const r of loaded) yield r;
    }
    expect(await cache.warm(source)).toBe(151);
    expect(state.calls).toBe(2);
    expect(cache.peek(given)).toEqual({ allowed: false, reason: 'warm' });
    expect(loaded.every((r) => cache.peek(r)?.allowed === true)).toBe(true);
  });

  it('listeners receive events and stop after their disposer runs', async () => {
    const { cache } = setup();
    const seen: string[] = [];
    const offHit = cache.on('hit', (e) => seen.push(`hit:${e.layer}`));
    const offMiss = cache.on('miss', (e) => seen.push(`miss:${e.layer}`));
    const offSet = cache.on('set', (e) => seen.push(`set:${e.source}`));
    const r = req();
    await cache.check(r);
    await cache.check(r);
    offHit();
    offMiss();
    offSet();
    await cache.check(req());
    expect(seen).toEqual(['miss:memory', 'set:loader', 'hit:memory']);
  });

  it('returned decisions are frozen copies', async () => {
    const { cache } = setup({}, () => ({ allowed: true, tags: ['team'] }));
    const d = await cache.check(req());
    expect(Object.isFrozen(d)).toBe(true);
    expect(() => ((d as { allowed: boolean }).allowed = false)).toThrow(TypeError);
  });
});

describe('createAuthorizationCache: loader failures, grace, deadline, refresh-ahead', () => {
  it('serves a stale entry within grace when the loader fails, and counts it', async () => {
    const { cache, state } = setup({ ttlMs: 30, graceMs: 10_000, jitter: 0 });
    const r = req();
    await cache.check(r);
    await sleep(50);
    state.fail = new Error('db down');
    const stale: unknown[] = [];
    cache.on('stale', (e) => stale.push(e.error));
    expect(await cache.check(r)).toEqual({ allowed: true });
    expect(stale).toHaveLength(1);
    expect(cache.stats().staleServed).toBe(1);
  });

  it('past grace the error is a LoaderError (E_LOADER) and nothing is cached', async () => {
    const { cache, state } = setup({ ttlMs: 20, graceMs: 20, jitter: 0 });
    const r = req();
    await cache.check(r);
    await sleep(60);
    state.fail = new Error('db down');
    await expect(cache.check(r)).rejects.toMatchObject({ code: 'E_LOADER', status: 503 });
    await expect(cache.check(req())).rejects.toMatchObject({ code: 'E_LOADER' });
    state.fail = undefined;
    const before = state.calls;
    await cache.check(r);
    expect(state.calls).toBe(before + 1);
  });

  it('a wrong-length or malformed loader answer is a LoaderError', async () => {
    const { cache, state } = setup({}, () => ({ allowed: 'yes' }) as unknown as Decision);
    await expect(cache.check(req())).rejects.toMatchObject({ code: 'E_LOADER' });
    state.decide = () => ({ allowed: true });
    expect(await cache.check(req())).toEqual({ allowed: true });
  });

  it('the loader runs under the ambient deadline and is aborted when it runs out', async () => {
    const { cache, state } = setup({ loaderTimeoutMs: 10_000 });
    state.hang = true;
    const started = performance.now();
    const err: unknown = await withDeadline(30, () => cache.check(req())).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(err).toMatchObject({ code: expect.stringMatching(/E_LOADER|E_DEADLINE/) });
  });

  it("the loader's own timeout applies outside a deadline", async () => {
    const { cache, state } = setup({ loaderTimeoutMs: 20 });
    state.hang = true;
    const err = (await cache.check(req()).catch((e: unknown) => e)) as { code: string; cause: { code: string } };
    expect(err.code).toBe('E_LOADER');
    expect(err.cause.code).toBe('E_TIMEOUT');
  });

  it('a breaker opens after repeated loader failures and skips the loader while open', async () => {
    const { cache, state } = setup({ loaderBreaker: { volumeThreshold: 3, resetTimeoutMs: 60_000 } });
    state.fail = new Error('db down');
    for (let i = 0; i < 3; i++) await expect(cache.check(req())).rejects.toMatchObject({ code: 'E_LOADER' });
    const calls = state.calls;
    const err = (await cache.check(req()).catch((e: unknown) => e)) as { code: string; cause: { code: string } };
    expect(err.cause.code).toBe('E_CIRCUIT_OPEN');
    expect(state.calls).toBe(calls);
    expect(cache.stats().loader.breaker).toBe('open');
  });

  // The adapters answer most requests through peek, so both read paths must start a refresh-ahead.
  it.each([
    ['check', (cache: ReturnType<typeof setup>['cache'], r: ReturnType<typeof req>) => cache.check(r)],
    ['peek', (cache: ReturnType<typeof setup>['cache'], r: ReturnType<typeof req>) => Promise.resolve(cache.peek(r))],
  ] as const)('refresh-ahead from %s reloads in the background while the old value is served', async (_name, read) => {
    let allowed = true;
    const { cache, state } = setup({ ttlMs: 2_000, refreshAheadMs: 1_800, jitter: 0 }, () => ({ allowed }));
    const r = req();
    await cache.check(r);
    await sleep(300);
    allowed = false;
    expect(await read(cache, r)).toEqual({ allowed: true });
    for (let i = 0; i < 200 && (state.calls < 2 || cache.stats().inFlight > 0); i++) await sleep(10);
    expect(state.calls).toBe(2);
    expect(cache.stats().refreshes).toBe(1);
    expect(await read(cache, r)).toEqual({ allowed: false });
  });

  it("a caller's abort rejects its own wait only", async () => {
    const { cache, state } = setup();
    state.delayMs = 50;
    const r = req();
    const controller = new AbortController();
    const aborted = cache.check(r, { signal: controller.signal });
    const other = cache.check(r);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(await other).toEqual({ allowed: true });
    expect(state.calls).toBe(1);
  });
});
