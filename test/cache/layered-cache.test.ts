import { describe, expect, it } from 'vitest';
import { createLayeredCache, memoryLayer, type ReadItem } from '../../src/index.js';
import { SharedRemoteLayer } from './fixtures.js';

interface Profile {
  readonly id: string;
  readonly team: string;
}

const item = (id: string): ReadItem<string> => ({ key: `profile:${id}`, scopes: [`org:${id.slice(0, 1)}`], request: id });

describe('createLayeredCache (generic engine)', () => {
  it('caches any value type, batches misses and invalidates by scope and by value-derived scope', async () => {
    const calls: string[][] = [];
    const cache = createLayeredCache<Profile, string>({
      layers: [memoryLayer<Profile>({ max: 100 }), new SharedRemoteLayer<Profile>()],
      loader: async (ids) => {
        calls.push([...ids]);
        return ids.map((id) => ({ id, team: id.endsWith('1') ? 'red' : 'blue' }));
      },
      scopesOf: (p) => [`team:${p.team}`],
      ttlMs: 60_000,
    });
    const values = await cache.getMany([item('a1'), item('a2'), item('b1')]);
    expect(values.map((p) => p.team)).toEqual(['red', 'blue', 'red']);
    expect(calls).toEqual([['a1', 'a2', 'b1']]);
    expect(cache.peek('profile:a1')).toEqual({ id: 'a1', team: 'red' });

    await cache.invalidate({ scopes: ['org:a'] });
    expect(cache.peek('profile:a1')).toBeUndefined();
    expect(cache.peek('profile:b1')).toBeDefined();

    await cache.invalidate({ scopes: ['team:red'] });
    expect(cache.peek('profile:b1')).toBeUndefined();
    await cache.get(item('b1'));
    expect(calls.at(-1)).toEqual(['b1']);
    await cache.close();
  });

  it('rejects a bad configuration with E_CONFIG', () => {
    const loader = async (): Promise<never[]> => [];
    expect(() => createLayeredCache({ layers: [], loader, ttlMs: -1 })).toThrow(expect.objectContaining({ code: 'E_CONFIG', field: 'ttlMs' }));
    expect(() => createLayeredCache({ layers: [], loader: undefined as never, ttlMs: 1 })).toThrow(expect.objectContaining({ field: 'loader' }));
    expect(() => createLayeredCache({ layers: {} as never, loader, ttlMs: 1 })).toThrow(expect.objectContaining({ field: 'layers' }));
  });

  it('reports p50/p99 per layer and for the loader', async () => {
    const cache = createLayeredCache<number, string>({
      layers: [memoryLayer<number>({ max: 10 }), new SharedRemoteLayer<number>()],
      loader: async (ids) => {
        await new Promise((r) => setTimeout(r, 5));
        return ids.map((id) => id.length);
      },
      ttlMs: 60_000,
    });
    for (let i = 0; i < 20; i++) await cache.get(item(`x${i}`));
    const stats = cache.stats();
    expect(stats.loader.calls).toBe(20);
    expect(stats.loader.p50Ms).toBeGreaterThan(3);
    expect(stats.loader.p99Ms).toBeGreaterThanOrEqual(stats.loader.p50Ms);
    expect(stats.layers[1]?.count).toBe(20);
    expect(stats.layers.map((l) => l.misses)).toEqual([20, 20]);
    await cache.close();
  });
});
