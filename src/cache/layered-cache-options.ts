import type { CircuitBreakerOptions } from '../resilience/circuit-breaker.js';
import type { CacheEventMap, CacheEventName, CacheStats } from './cache-events.js';
import type { ReadItem } from './layer-reader.js';
import type { CacheEntry, CacheLayer, InvalidationBus, PeekHint } from './types.js';
import type { VersionClock } from './version.js';

/** What a loader may resolve to: values in request order, optionally with the version they were read at. @example `{ values: rows.map(toProfile), version }` */
export type LoaderResult<V> = readonly V[] | { readonly values: readonly V[]; readonly version?: string };

/** Options of {@link createLayeredCache}. @example `{ layers: [memoryLayer({ max: 10_000 })], loader: (ids) => db.profiles(ids), ttlMs: 60_000 }` */
export interface LayeredCacheOptions<V, R> {
  /** Layers, fastest first (e.g. `[memoryLayer(…), redisLayer(…)]`). May be empty. */
  layers: ReadonlyArray<CacheLayer<V>>;
  /** Loads the values of a batch of misses, in request order. Runs under the deadline and a breaker. */
  loader: (requests: readonly R[], context: { readonly signal: AbortSignal }) => Promise<LoaderResult<V>>;
  /** Time-to-live of a value. */
  ttlMs: number;
  /** Per-value TTL (e.g. shorter for negative answers). @default () => ttlMs */
  ttlFor?: (value: V) => number;
  /** Extra invalidation scopes carried by a value (e.g. its tags). */
  scopesOf?: (value: V) => readonly string[];
  /** How long after expiry a value may still be served when the loader fails. @default 0 */
  graceMs?: number;
  /** Reload in the background when a hit is this close to expiry. @default 0 (off) */
  refreshAheadMs?: number;
  /** TTL jitter as a fraction (0.1 = ±10 %). @default 0.1 */
  jitter?: number;
  /** The loader's own time limit; the ambient deadline may shorten it. @default 5000 */
  loaderTimeoutMs?: number;
  /** Breaker around the loader (`createCircuitBreaker`). @default { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 5000 } */
  loaderBreaker?: LoaderBreakerOptions;
  /** Cross-instance invalidation. */
  bus?: InvalidationBus;
  /** Version source. @default createVersionClock() */
  clock?: VersionClock;
  /** Name used in errors and breaker names. @default 'cache' */
  name?: string;
}

/** Breaker settings for the loader; its name and timeout come from the cache. @example `{ volumeThreshold: 10, resetTimeoutMs: 2_000 }` */
export type LoaderBreakerOptions = Omit<CircuitBreakerOptions<[], unknown>, 'name' | 'timeoutMs' | 'fallback'>;

/** Per-read options. @example `await cache.get(item, { signal: request.signal, minVersion })` */
export interface ReadOptions {
  /** Aborts this caller's wait (a shared load keeps running for others). */
  signal?: AbortSignal | undefined;
  /** Minimum version (decoded consistency token): older entries are skipped. */
  minVersion?: string | undefined;
}

/** What to invalidate. @example `await cache.invalidate({ keys: ['profile:42'], scopes: ['org:acme'] })` */
export interface InvalidateTarget {
  keys?: readonly string[];
  scopes?: readonly string[];
}

/**
 * The generic layered cache: L1 → L2 → … → loader, with backfill, single-flight,
 * jitter, grace, refresh-ahead, scope stamps and a bus. `createAuthorizationCache`
 * is built on it.
 *
 * @example
 * ```ts
 * const cache: LayeredCache<Profile, string> = createLayeredCache({ layers, loader, ttlMs: 60_000 });
 * const profile = await cache.get({ key: `profile:${id}`, scopes: [], request: id });
 * ```
 */
export interface LayeredCache<V, R> {
  /** This instance's id (the bus origin). */
  readonly id: string;
  /** The value for `item`, from the first layer holding a usable entry, else from the loader. */
  get(item: ReadItem<R>, options?: ReadOptions): Promise<V>;
  /**
   * Like `get`, building the item with `makeItem(key, arg)` only when the L1 fast path cannot answer.
   * Pass a function created once (not a per-call closure) so an L1 hit allocates nothing extra.
   */
  getByKey<A>(key: string, arg: A, makeItem: (key: string, arg: A) => ReadItem<R>, options?: ReadOptions): Promise<V>;
  /**
   * The synchronous part of `getByKey`: the fresh, valid L1 entry for `key`, counted as a hit (stats, events,
   * refresh-ahead through `makeItem`), or `undefined` when the read must go further. A `hint` kept per key
   * lets L1 find the entry again without a lookup (see {@link PeekHint}).
   */
  localHit<A>(key: string, arg: A, makeItem: (key: string, arg: A) => ReadItem<R>, hint?: PeekHint): CacheEntry<V> | undefined;
  /** Values for many items: one multi-get per layer and one loader call for all misses. */
  getMany(items: ReadonlyArray<ReadItem<R>>, options?: ReadOptions): Promise<V[]>;
  /** A fresh value from the first local layer, synchronously, or `undefined`. */
  peek(key: string, minVersion?: string): V | undefined;
  /** Writes `value` to every layer and tells other instances to drop their copy. */
  set(item: ReadItem<R>, value: V): Promise<void>;
  /** Writes `value` to every layer without publishing (warming). */
  prime(item: ReadItem<R>, value: V): Promise<void>;
  /** Invalidates keys and scopes everywhere, without scanning any layer. */
  invalidate(target: InvalidateTarget): Promise<void>;
  /** Invalidates everything (one stamp, O(1) in every layer). */
  clear(): Promise<void>;
  /** Adds an event listener; returns its disposer. */
  on<E extends CacheEventName>(event: E, listener: (payload: CacheEventMap[E]) => void): () => void;
  /** Hit ratios, loader figures, latency percentiles, breaker states. */
  stats(): CacheStats;
  /** Unsubscribes from the bus and releases layer listeners. */
  close(): Promise<void>;
}
