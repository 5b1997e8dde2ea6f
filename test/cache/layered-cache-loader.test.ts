import { afterEach, describe, expect, it } from 'vitest';
import { CacheEvents, type CacheEventMap } from '../../src/cache/cache-events.js';
import { LayerReader, type Found, type ReadItem } from '../../src/cache/layer-reader.js';
import { LayeredCacheLoader, type CacheCounters } from '../../src/cache/layered-cache-loader.js';
import type { LayeredCacheOptions } from '../../src/cache/layered-cache-options.js';
import { SingleFlight } from '../../src/cache/single-flight.js';
import { StampRegistry } from '../../src/cache/stamp-registry.js';
import type { CacheEntry } from '../../src/cache/types.js';
import { compareVersions, createVersionClock } from '../../src/cache/version.js';
import { listCircuitBreakers, memoryLayer } from '../../src/index.js';

const item = (id: string, scopes: string[] = [`org:${id}`]): ReadItem<string> => ({ key: `k:${id}`, scopes, request: id });

interface Deferred {
  readonly requests: readonly string[];
  resolve(values: string[]): void;
  reject(error: unknown): void;
}

const loaders: Array<LayeredCacheLoader<string, string>> = [];
afterEach(() => {
  for (const loader of loaders.splice(0)) loader.dispose();
});

function setup(overrides: Partial<LayeredCacheOptions<string, string>> = {}, settings = { ttlMs: 60_000, graceMs: 0, jitter: 0 }) {
  const layer = memoryLayer<string>({ max: 100 });
  const stamps = new StampRegistry(600_000);
  const clock = createVersionClock();
  const events = new CacheEvents();
  const flights = new SingleFlight<CacheEntry<string>>();
  const counters: CacheCounters = { hits: 0, misses: 0, loaderCalls: 0, loaderKeys: 0, loaderErrors: 0, staleServed: 0, refreshes: 0 };
  const calls: Deferred[] = [];
  const options: LayeredCacheOptions<string, string> = {
    layers: [layer],
    // Each call waits until the test settles it, so tests can act while a load is in flight.
    loader: (requests) => new Promise((resolve, reject) => calls.push({ requests: [...requests], resolve, reject })),
    ttlMs: settings.ttlMs,
    name: 'profiles',
    ...overrides,
  };
  const reader = new LayerReader<string>(options.layers, stamps, clock, events);
  const loader = new LayeredCacheLoader(options, { name: 'profiles', loaderTimeoutMs: 5_000, ...settings }, { reader, stamps, clock, flights, events, counters });
  loaders.push(loader);
  const seen: Array<CacheEventMap['set'] | CacheEventMap['stale'] | CacheEventMap['error']> = [];
  events.on('set', (e) => seen.push(e));
  events.on('stale', (e) => seen.push(e));
  events.on('error', (e) => seen.push(e));
  return { loader, layer, stamps, clock, flights, counters, calls, seen };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('LayeredCacheLoader', () => {
  it('loads the misses in one loader call, once per key, joins a load in flight and writes the entries', async () => {
    const { loader, layer, counters, calls, flights } = setup();
    const items = [item('a'), item('b'), item('a')];
    const values: string[] = [];
    const first = loader.loadPending(items, [0, 1, 2], new Map(), values, undefined);
    await tick();
    const joined: string[] = [];
    const second = loader.loadPending([item('b')], [0], new Map(), joined, undefined);
    expect(calls.map((c) => c.requests)).toEqual([['a', 'b']]);
    expect(flights.size).toBe(2);
    calls[0]?.resolve(['A', 'B']);
    await Promise.all([first, second]);
    expect(values).toEqual(['A', 'B', 'A']);
    expect(joined).toEqual(['B']);
    expect(counters).toMatchObject({ misses: 4, loaderCalls: 1, loaderKeys: 2 });
    expect((await layer.get('k:a'))?.value).toBe('A');
    expect(flights.size).toBe(0);
  });

  it('neither joins nor writes a load that an invalidation overtook', async () => {
    const { loader, layer, stamps, clock, calls } = setup();
    const old: string[] = [];
    const first = loader.loadPending([item('a')], [0], new Map(), old, undefined);
    await tick();
    stamps.record('org:a', clock.now());
    const fresh: string[] = [];
    const second = loader.loadPending([item('a')], [0], new Map(), fresh, undefined);
    expect(calls).toHaveLength(2);
    calls[1]?.resolve(['new']);
    await second;
    calls[0]?.resolve(['old']);
    await first;
    expect([old, fresh]).toEqual([['old'], ['new']]);
    expect((await layer.get('k:a'))?.value).toBe('new');
  });

  it('does not join a load older than the minimum version asked for', async () => {
    const { loader, clock, calls } = setup();
    void loader.loadPending([item('a')], [0], new Map(), [], undefined);
    await tick();
    const minVersion = clock.now();
    void loader.loadPending([item('a')], [0], new Map(), [], { minVersion });
    expect(calls).toHaveLength(2);
    calls.forEach((c) => c.resolve(['A']));
  });

  it('dates the entries at the version the loader read them at', async () => {
    // Ahead of this process's clock (a database's snapshot version, say), but within 2^53 so the clock can follow it.
    const read = String(Date.now() * 1000 + 3_600_000_000);
    const { loader, clock } = setup({ loader: async () => ({ values: ['A'], version: read }) });
    const [entry] = await loader.load([item('a')], clock.now());
    expect(entry?.version).toBe(read);
    expect(compareVersions(clock.now(), read)).toBeGreaterThan(0);
  });

  it('rejects a loader answering the wrong number of values and counts the error', async () => {
    const { loader, counters, seen } = setup({ loader: async () => ['A'] });
    await expect(loader.loadPending([item('a'), item('b')], [0, 1], new Map(), [], undefined)).rejects.toMatchObject({
      code: 'E_LOADER',
      message: 'The loader returned 1 values for 2 requests',
    });
    expect(counters.loaderErrors).toBe(1);
    expect(seen).toContainEqual(expect.objectContaining({ phase: 'loader' }));
    expect(loader.stats()).toMatchObject({ calls: 1, keys: 2, errors: 1, breaker: 'closed' });
  });

  it('serves the stale entry within grace when the loader fails, and wraps the failure otherwise', async () => {
    const failure = new Error('db down');
    const { loader, counters, seen } = setup({
      loader: async () => {
        throw failure;
      },
    });
    const now = Date.now();
    const stale = (staleUntil: number): Map<number, Found<string>> =>
      new Map([[0, { layer: 'memory', entry: { value: 'old', createdAt: now - 2, expiresAt: now - 1, staleUntil, version: '1', tags: [] } }]]);
    const values: string[] = [];
    await loader.loadPending([item('a')], [0], stale(now + 60_000), values, undefined);
    expect(values).toEqual(['old']);
    expect(counters.staleServed).toBe(1);
    expect(seen).toContainEqual({ key: 'k:a', layer: 'memory', error: failure });
    for (const staleEntries of [stale(now - 1), new Map<number, Found<string>>()]) {
      await expect(loader.loadPending([item('a')], [0], staleEntries, [], undefined)).rejects.toMatchObject({
        code: 'E_LOADER',
        message: 'The profiles loader failed and no value within grace was cached',
        cause: failure,
      });
    }
  });

  it('gives up the wait of an aborted caller without serving stale, while the load goes on for others', async () => {
    const { loader, layer, calls } = setup();
    const controller = new AbortController();
    const now = Date.now();
    const stale = new Map([[0, { layer: 'memory', entry: { value: 'old', createdAt: now, expiresAt: now, staleUntil: now + 60_000, version: '1', tags: [] } }]]);
    const aborted = loader.loadPending([item('a')], [0], stale, [], { signal: controller.signal });
    await tick();
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'E_ABORTED' });
    calls[0]?.resolve(['A']);
    await tick();
    expect((await layer.get('k:a'))?.value).toBe('A');
  });

  it('stores a value with jittered TTL, grace and value-derived scopes', async () => {
    const { loader, layer, seen } = setup({ scopesOf: (value) => [`team:${value}`] }, { ttlMs: 10_000, graceMs: 5_000, jitter: 0.1 });
    await loader.store(item('a'), 'red', 'warm');
    const entry = await layer.get('k:a');
    const ttl = (entry?.expiresAt ?? 0) - (entry?.createdAt ?? 0);
    expect(ttl).toBeGreaterThanOrEqual(9_000);
    expect(ttl).toBeLessThanOrEqual(11_000);
    expect(entry).toMatchObject({ value: 'red', staleUntil: (entry?.expiresAt ?? 0) + 5_000, tags: ['org:a', 'team:red'] });
    expect(seen).toContainEqual({ key: 'k:a', source: 'warm' });
  });

  it('registers its breaker under the cache name until disposed', () => {
    const { loader } = setup();
    expect(listCircuitBreakers().filter((b) => b.name === 'profiles.loader')).toHaveLength(1);
    loader.dispose();
    expect(listCircuitBreakers().some((b) => b.name === 'profiles.loader')).toBe(false);
  });
});
