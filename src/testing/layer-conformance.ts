import { afterAll, describe, expect, it } from 'vitest';
import type { CacheEntry, CacheLayer, PeekHint } from '../cache/types.js';

/** Options of {@link runLayerConformance}. */
export interface LayerConformanceOptions {
  /** Called once after the suite, e.g. to close clients the factory opened. */
  teardown?: () => unknown;
  /** Milliseconds the TTL test waits for expiry; raise it for coarse-grained backends. @default 150 */
  expiryWaitMs?: number;
}

/** The value type the suite stores. */
interface Sample {
  readonly n: number;
  readonly text: string;
  readonly nested: { readonly list: readonly number[]; readonly flag: boolean | null };
}

const sample = (n: number, text = `value-${n}`): Sample => ({ n, text, nested: { list: [n, n + 1], flag: n % 2 === 0 ? true : null } });

function entry(n: number, overrides: Partial<CacheEntry<Sample>> = {}): CacheEntry<Sample> {
  const now = Date.now();
  return {
    value: sample(n),
    createdAt: now,
    expiresAt: now + 60_000,
    staleUntil: now + 120_000,
    version: `${1_732_550_400_000_000 + n}`,
    tags: [`u:{user-${n}}`, `r:res-${n}`],
    ...overrides,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Registers a vitest suite that checks a {@link CacheLayer} implementation
 * against the contract: round trips keep every entry field, `getMany` keeps
 * order, deletes and prefix clears remove exactly what they should, TTLs
 * expire, odd keys stay distinct, and `peek` (when present) agrees with `get`,
 * with or without a {@link PeekHint}.
 * `memoryLayer` and `redisLayer` pass it; run it for your own layer too.
 *
 * `factory` is called once per test and must return a layer over an isolated,
 * empty namespace (e.g. a random Redis prefix).
 *
 * @param name - Suite title.
 * @param factory - Creates a fresh, empty layer.
 * @example
 * ```ts
 * import { runLayerConformance } from 'supaguard/testing';
 * runLayerConformance('myLayer', () => myLayer({ prefix: `t-${randomUUID()}:` }));
 * ```
 */
export function runLayerConformance(
  name: string,
  factory: () => CacheLayer<unknown> | Promise<CacheLayer<unknown>>,
  options: LayerConformanceOptions = {},
): void {
  const expiryWaitMs = options.expiryWaitMs ?? 150;
  const opened: Array<CacheLayer<unknown>> = [];
  const fresh = async (): Promise<CacheLayer<Sample>> => {
    const layer = (await factory()) as CacheLayer<Sample>;
    opened.push(layer as CacheLayer<unknown>);
    return layer;
  };

  describe(`CacheLayer conformance: ${name}`, () => {
    afterAll(async () => {
      for (const layer of opened) await layer.close?.();
      await options.teardown?.();
    });

    it('declares a name and a kind', async () => {
      const layer = await fresh();
      expect(typeof layer.name).toBe('string');
      expect(layer.name.length).toBeGreaterThan(0);
      expect(['local', 'remote']).toContain(layer.kind);
    });

    it('returns undefined for a missing key', async () => {
      const layer = await fresh();
      expect(await layer.get('missing')).toBeUndefined();
      expect(await layer.getMany(['missing-1', 'missing-2'])).toEqual([undefined, undefined]);
    });

    it('round-trips every field of an entry', async () => {
      const layer = await fresh();
      const stored = entry(1);
      await layer.set('k1', stored, 60_000);
      expect(await layer.get('k1')).toEqual(stored);
    });

    it('overwrites an existing key', async () => {
      const layer = await fresh();
      await layer.set('k', entry(1), 60_000);
      await layer.set('k', entry(2), 60_000);
      expect((await layer.get('k'))?.value).toEqual(sample(2));
    });

    it('getMany keeps the order of the keys, with undefined for misses', async () => {
      const layer = await fresh();
      await layer.set('a', entry(1), 60_000);
      await layer.set('c', entry(3), 60_000);
      const got = await layer.getMany(['c', 'b', 'a', 'c']);
      expect(got.map((e) => e?.value.n)).toEqual([3, undefined, 1, 3]);
      expect(await layer.getMany([])).toEqual([]);
    });

    it('getMany handles a large batch', async () => {
      const layer = await fresh();
      const keys = Array.from({ length: 500 }, (_, i) => `bulk:${i}`);
      await Promise.all(keys.map((key, i) => layer.set(key, entry(i), 60_000)));
      const got = await layer.getMany(keys);
      expect(got.map((e) => e?.value.n)).toEqual(keys.map((_, i) => i));
    });

    it('delete and deleteMany remove exactly the given keys', async () => {
      const layer = await fresh();
      for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) await layer.set(key, entry(i), 60_000);
      await layer.delete('a');
      await layer.deleteMany(['b', 'c', 'never-set']);
      await layer.deleteMany([]);
      expect((await layer.getMany(['a', 'b', 'c', 'd'])).map((e) => e?.value.n)).toEqual([undefined, undefined, undefined, 3]);
      await layer.delete('never-set');
    });

    it('clear(prefix) removes only keys with that prefix; clear() removes the rest', async () => {
      const layer = await fresh();
      await layer.set('authz:{u1}:r1:read', entry(1), 60_000);
      await layer.set('authz:{u1}:r2:read', entry(2), 60_000);
      await layer.set('stamp:u:{u1}', entry(3), 60_000);
      await layer.set('authz*glob?[x]', entry(4), 60_000);
      await layer.clear('authz:{u1}:r1');
      expect((await layer.getMany(['authz:{u1}:r1:read', 'authz:{u1}:r2:read', 'stamp:u:{u1}', 'authz*glob?[x]'])).map((e) => e?.value.n)).toEqual([
        undefined,
        2,
        3,
        4,
      ]);
      await layer.clear('authz*');
      expect((await layer.get('authz*glob?[x]'))?.value.n).toBeUndefined();
      expect((await layer.get('authz:{u1}:r2:read'))?.value.n).toBe(2);
      await layer.clear();
      expect(await layer.getMany(['authz:{u1}:r2:read', 'stamp:u:{u1}'])).toEqual([undefined, undefined]);
    });

    it('expires an entry after its ttlMs', async () => {
      const layer = await fresh();
      await layer.set('short', entry(1), 40);
      await layer.set('long', entry(2), 60_000);
      await sleep(expiryWaitMs);
      expect(await layer.get('short')).toBeUndefined();
      expect((await layer.get('long'))?.value.n).toBe(2);
    });

    it('keeps keys with delimiters, unicode and glob characters distinct', async () => {
      const layer = await fresh();
      const keys = ['a:b', 'a%3Ab', 'a{b}', 'a b', 'ü:✓', 'x*', 'x?', 'x[1]', 'x\\y', ''.padEnd(300, 'z')];
      await Promise.all(keys.map((key, i) => layer.set(key, entry(i), 60_000)));
      expect((await layer.getMany(keys)).map((e) => e?.value.n)).toEqual(keys.map((_, i) => i));
    });

    it('stores strings, unicode and empty tags faithfully', async () => {
      const layer = await fresh();
      const odd = entry(7, { value: sample(7, 'quote " backslash \\ newline \n ✓'), tags: [] });
      await layer.set('odd', odd, 60_000);
      expect(await layer.get('odd')).toEqual(odd);
    });

    it('peek, when implemented, agrees with get', async () => {
      const layer = await fresh();
      if (typeof layer.peek !== 'function') {
        expect(layer.kind).toBe('remote');
        return;
      }
      await layer.set('p', entry(5), 60_000);
      expect(layer.peek('p')).toEqual(await layer.get('p'));
      expect(layer.peek('absent')).toBeUndefined();
    });

    it('peek with a hint answers exactly like peek without one, through overwrites, deletes and clears', async () => {
      const layer = await fresh();
      if (typeof layer.peek !== 'function') {
        expect(layer.kind).toBe('remote');
        return;
      }
      const hint: PeekHint = { slot: undefined };
      const other: PeekHint = { slot: undefined };
      const agree = (key: string): number | undefined => {
        // The hinted read first, so it is the one meeting an overwritten, deleted or expired entry.
        const hinted = layer.peek?.(key, hint)?.value.n;
        expect(layer.peek?.(key)?.value.n).toBe(hinted);
        return hinted;
      };
      expect(agree('h')).toBeUndefined();
      await layer.set('h', entry(1), 60_000);
      await layer.set('h2', entry(2), 60_000);
      expect(agree('h')).toBe(1);
      expect(agree('h')).toBe(1);
      // A hint filled for one key never answers for another.
      expect(layer.peek('h2', hint)?.value.n).toBe(2);
      expect(layer.peek('h', hint)?.value.n).toBe(1);
      layer.peek('h2', other);
      expect(layer.peek('h', other)?.value.n).toBe(1);
      await layer.set('h', entry(3), 60_000);
      expect(agree('h')).toBe(3);
      await layer.delete('h');
      expect(agree('h')).toBeUndefined();
      await layer.set('h', entry(4), 60_000);
      expect(agree('h')).toBe(4);
      await layer.deleteMany(['h']);
      expect(agree('h')).toBeUndefined();
      await layer.set('h', entry(5), 60_000);
      expect(agree('h')).toBe(5);
      await layer.clear('h');
      expect(agree('h')).toBeUndefined();
      await layer.set('h', entry(6), 60_000);
      expect(agree('h')).toBe(6);
      await layer.clear();
      expect(agree('h')).toBeUndefined();
      await layer.set('h', entry(7), 40);
      expect(agree('h')).toBe(7);
      await sleep(expiryWaitMs);
      expect(agree('h')).toBeUndefined();
    });
  });
}
