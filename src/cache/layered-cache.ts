import { randomUUID } from 'node:crypto';
import { ConfigurationError } from '../errors.js';
import { channels, publish } from '../observe/channels.js';
import { CacheEvents, type CacheEventMap, type CacheEventName, type CacheStats } from './cache-events.js';
import { GLOBAL_SCOPE, stampKey } from './keys.js';
import { COARSE_MARGIN_MS, coarseNow } from './coarse-clock.js';
import { LayerReader, type Found, type ReadItem } from './layer-reader.js';
import { LayeredCacheLoader } from './layered-cache-loader.js';
import type { InvalidateTarget, LayeredCache, LayeredCacheOptions, ReadOptions } from './layered-cache-options.js';
import { SingleFlight } from './single-flight.js';
import { StampRegistry } from './stamp-registry.js';
import type { CacheEntry, CacheLayer, InvalidationMessage, PeekHint } from './types.js';
import { compareVersions, createVersionClock, isVersion, type VersionClock } from './version.js';

export type { ReadItem } from './layer-reader.js';
export type { InvalidateTarget, LayeredCache, LayeredCacheOptions, LoaderBreakerOptions, LoaderResult, ReadOptions } from './layered-cache-options.js';

/**
 * Creates the generic layered cache.
 *
 * @throws {@link ConfigurationError} for a missing loader or a bad TTL.
 * @example
 * ```ts
 * const cache = createLayeredCache<Profile, string>({
 *   layers: [memoryLayer({ max: 10_000, ttlMs: 60_000 })],
 *   loader: (ids) => db.profiles(ids),
 *   ttlMs: 60_000,
 * });
 * const profile = await cache.get({ key: `profile:${id}`, scopes: [], request: id });
 * ```
 */
export function createLayeredCache<V, R = string>(options: LayeredCacheOptions<V, R>): LayeredCache<V, R> {
  return new LayeredCacheEngine(options);
}

const nonNegative = (value: number | undefined, field: string, fallback: number): number => {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new ConfigurationError(field, 'must be a finite number >= 0');
  return v;
};

const itemItself = <R>(_key: string, item: ReadItem<R>): ReadItem<R> => item;

class LayeredCacheEngine<V, R> implements LayeredCache<V, R> {
  readonly id = randomUUID();
  private readonly layers: ReadonlyArray<CacheLayer<V>>;
  private readonly l1: CacheLayer<V> | undefined;
  private readonly events = new CacheEvents();
  private readonly flights = new SingleFlight<CacheEntry<V>>();
  private readonly clock: VersionClock;
  private readonly stamps: StampRegistry;
  private readonly reader: LayerReader<V>;
  private readonly loader: LayeredCacheLoader<V, R>;
  private readonly refreshAheadMs: number;
  private readonly stampTtlMs: number;
  /** L1's hit counter, bumped directly by the fast path. */
  private readonly l1Counters: { hits: number };
  /** Remaining lifetime above which the coarse clock may judge an L1 entry fresh. */
  private readonly coarseFreshMs: number;
  private readonly name: string;
  private readonly unsubscribe: (() => void) | undefined;
  private counters = { hits: 0, misses: 0, loaderCalls: 0, loaderKeys: 0, loaderErrors: 0, staleServed: 0, refreshes: 0 };

  constructor(private readonly options: LayeredCacheOptions<V, R>) {
    if (typeof options.loader !== 'function') throw new ConfigurationError('loader', 'must be a function');
    if (!Array.isArray(options.layers)) throw new ConfigurationError('layers', 'must be an array of cache layers');
    this.layers = options.layers;
    this.l1 = this.layers[0]?.kind === 'local' && typeof this.layers[0].peek === 'function' ? this.layers[0] : undefined;
    const ttlMs = nonNegative(options.ttlMs, 'ttlMs', NaN);
    const graceMs = nonNegative(options.graceMs, 'graceMs', 0);
    this.refreshAheadMs = nonNegative(options.refreshAheadMs, 'refreshAheadMs', 0);
    const jitter = Math.min(0.5, nonNegative(options.jitter, 'jitter', 0.1));
    const loaderTimeoutMs = nonNegative(options.loaderTimeoutMs, 'loaderTimeoutMs', 5_000);
    this.name = options.name ?? 'cache';
    this.coarseFreshMs = COARSE_MARGIN_MS + this.refreshAheadMs;
    this.clock = options.clock ?? createVersionClock();
    // Stamps must outlive every entry written before them (loads may start a loader-timeout before they write).
    this.stampTtlMs = Math.ceil(ttlMs * (1 + jitter) + graceMs + loaderTimeoutMs + 60_000);
    this.stamps = new StampRegistry(this.stampTtlMs);
    this.reader = new LayerReader(this.layers, this.stamps, this.clock, this.events);
    this.l1Counters = this.reader.countersOf(0);
    this.loader = new LayeredCacheLoader(
      options,
      { name: this.name, ttlMs, graceMs, jitter, loaderTimeoutMs },
      { reader: this.reader, stamps: this.stamps, clock: this.clock, flights: this.flights, events: this.events, counters: this.counters },
    );
    this.unsubscribe = options.bus?.subscribe({
      onMessage: (message) => this.onBusMessage(message),
      onReconnect: () => this.onBusReconnect(),
    });
  }

  get(item: ReadItem<R>, options?: ReadOptions): Promise<V> {
    return this.getByKey(item.key, item, itemItself, options);
  }

  getByKey<A>(key: string, arg: A, makeItem: (key: string, arg: A) => ReadItem<R>, options?: ReadOptions): Promise<V> {
    if (options === undefined || options.minVersion === undefined) {
      const entry = this.localHit(key, arg, makeItem);
      if (entry !== undefined) return Promise.resolve(entry.value);
    }
    return this.getOne(makeItem(key, arg), options);
  }

  localHit<A>(key: string, arg: A, makeItem: (key: string, arg: A) => ReadItem<R>, hint?: PeekHint): CacheEntry<V> | undefined {
    const l1 = this.l1;
    if (l1 === undefined) return undefined;
    // The L1 hit path: synchronous, no async frame, no single-flight or Map work beyond the LRU itself.
    const entry = l1.peek?.(key, hint);
    if (entry === undefined || !this.stamps.isValid(entry, key)) return undefined;
    const remaining = this.remainingLifetime(entry);
    if (remaining <= 0) return undefined;
    this.counters.hits++;
    this.l1Counters.hits++;
    if (this.events.active > 0) this.events.emit('hit', { key, layer: l1.name });
    if (channels.cacheHit.hasSubscribers) channels.cacheHit.publish({ layer: l1.name });
    if (remaining <= this.refreshAheadMs) this.refreshAhead(makeItem(key, arg));
    return entry;
  }

  peek(key: string, minVersion?: string): V | undefined {
    const entry = this.l1?.peek?.(key);
    if (entry === undefined || !this.stamps.isValid(entry, key) || this.remainingLifetime(entry) <= 0) return undefined;
    if (minVersion !== undefined && compareVersions(entry.version, minVersion) < 0) return undefined;
    return entry.value;
  }

  /** One item through the layers (an L1 miss of `check`): a promise chain, no batch bookkeeping on a hit. */
  private getOne(item: ReadItem<R>, options: ReadOptions | undefined): Promise<V> {
    const minVersion = options?.minVersion;
    if (minVersion !== undefined) this.clock.observe(minVersion);
    return this.reader.readOne(item, minVersion, (read): V | Promise<V> => {
      const found = read.fresh;
      if (found !== undefined) {
        this.counters.hits++;
        // Without refresh-ahead (0) no clock is read: refreshAhead() would return at once anyway.
        if (this.refreshAheadMs > 0 && this.remainingLifetime(found.entry) <= this.refreshAheadMs) this.refreshAhead(item);
        return found.entry.value;
      }
      const values = new Array<V>(1);
      const stale = new Map<number, Found<V>>();
      if (read.stale !== undefined) stale.set(0, read.stale);
      return this.loader.loadPending([item], [0], stale, values, options).then(() => values[0] as V);
    });
  }

  async getMany(items: ReadonlyArray<ReadItem<R>>, options?: ReadOptions): Promise<V[]> {
    const minVersion = options?.minVersion;
    if (minVersion !== undefined) this.clock.observe(minVersion);
    const result = await this.reader.read(items, minVersion);
    const now = Date.now();
    for (const [index, found] of result.fresh) {
      const item = items[index] as ReadItem<R>;
      this.counters.hits++;
      if (found.entry.expiresAt - now <= this.refreshAheadMs) this.refreshAhead(item);
    }
    const values = new Array<V>(items.length);
    for (const [index, found] of result.fresh) values[index] = found.entry.value;
    if (result.pending.length === 0) return values;
    await this.loader.loadPending(items, result.pending, result.stale, values, options);
    return values;
  }

  async set(item: ReadItem<R>, value: V): Promise<void> {
    // The stamp is older than the new entry but newer than any load in flight, so a late load cannot overwrite it.
    const stamp = this.clock.now();
    this.stamps.recordKey(item.key, stamp);
    this.flights.forget(item.key);
    await this.loader.store(item, value, 'set');
    await this.publish({ origin: this.id, version: stamp, keys: [item.key] });
  }

  async prime(item: ReadItem<R>, value: V): Promise<void> {
    await this.loader.store(item, value, 'warm');
  }

  async invalidate(target: InvalidateTarget): Promise<void> {
    const keys = [...(target.keys ?? [])];
    const scopes = [...(target.scopes ?? [])];
    if (keys.length === 0 && scopes.length === 0) return;
    const version = this.clock.now();
    this.applyLocally(keys, scopes, false, version);
    this.events.emit('invalidate', { keys, scopes, clear: false, source: 'local', version });
    // Published in parallel with the L2 writes: receivers stamp locally, so they reject the old L2 entry even
    // if they read it before the delete lands.
    const [failures] = await Promise.all([
      this.reader.stampRemote(keys, scopes.map(stampKey), version, this.stampTtlMs),
      this.publish({ origin: this.id, version, ...(keys.length ? { keys } : {}), ...(scopes.length ? { scopes } : {}) }),
    ]);
    if (failures[0] !== undefined) throw failures[0];
  }

  async clear(): Promise<void> {
    const version = this.clock.now();
    this.applyLocally([], [], true, version);
    this.events.emit('invalidate', { keys: [], scopes: [], clear: true, source: 'local', version });
    const [failures] = await Promise.all([
      this.reader.stampRemote([], [stampKey(GLOBAL_SCOPE)], version, this.stampTtlMs),
      this.publish({ origin: this.id, version, clear: true }),
    ]);
    if (failures[0] !== undefined) throw failures[0];
  }

  on<E extends CacheEventName>(event: E, listener: (payload: CacheEventMap[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  stats(): CacheStats {
    const { hits, misses } = this.counters;
    return {
      layers: this.reader.layerStats(),
      hits,
      misses,
      hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
      loader: this.loader.stats(),
      staleServed: this.counters.staleServed,
      refreshes: this.counters.refreshes,
      inFlight: this.flights.size,
      stamps: this.stamps.size,
    };
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.flights.forgetAll();
    this.loader.dispose();
    await Promise.all(this.layers.map((layer) => layer.close?.()));
  }

  /**
   * Ms until `entry` expires (<= 0: expired). Far from expiry (and from refresh-ahead) the coarse
   * clock decides; near it, an exact reading does, so TTLs and refresh-ahead keep their precision.
   */
  private remainingLifetime(entry: CacheEntry<V>): number {
    const coarse = entry.expiresAt - coarseNow();
    return coarse > this.coarseFreshMs ? coarse : entry.expiresAt - Date.now();
  }

  // Here rather than in the loader: the L1 hit path calls it, so it stays a method of this class (no hop through `this.loader`).
  private refreshAhead(item: ReadItem<R>): void {
    if (this.refreshAheadMs === 0 || this.flights.get(item.key) !== undefined) return;
    this.counters.refreshes++;
    const version = this.clock.now();
    const loading = this.loader.load([item], version).then((entries) => entries[0] as CacheEntry<V>);
    this.flights.track(item.key, version, loading);
    loading.catch((err: unknown) => this.events.emit('error', { error: err, phase: 'refresh' }));
  }

  private applyLocally(keys: readonly string[], scopes: readonly string[], clear: boolean, version: string): void {
    for (const key of keys) {
      this.stamps.recordKey(key, version);
      this.flights.forget(key);
    }
    for (const scope of scopes) this.stamps.record(scope, version);
    if (clear) {
      this.stamps.record(GLOBAL_SCOPE, version);
      this.flights.forgetAll();
    }
    this.reader.dropLocal(keys, clear);
  }

  private async publish(message: InvalidationMessage): Promise<void> {
    if (!this.options.bus) return;
    try {
      await this.options.bus.publish(message);
      publish(channels.invalidationSent, { cache: this.name, keys: (message.keys?.length ?? 0) + (message.scopes?.length ?? 0) });
    } catch (err) {
      this.events.emit('error', { error: err, phase: 'bus' });
    }
  }

  private onBusMessage(message: InvalidationMessage): void {
    if (message.origin === this.id || !isVersion(message.version)) return;
    this.clock.observe(message.version);
    const keys = (message.keys ?? []).filter((k) => typeof k === 'string');
    const scopes = (message.scopes ?? []).filter((s) => typeof s === 'string');
    const clear = message.clear === true;
    this.applyLocally(keys, scopes, clear, message.version);
    this.events.emit('invalidate', { keys, scopes, clear, source: 'bus', version: message.version });
    publish(channels.invalidationReceived, { cache: this.name, keys: keys.length + scopes.length });
  }

  private onBusReconnect(): void {
    // Messages published while we were disconnected are lost: drop everything this process holds.
    const version = this.clock.now();
    this.flights.forgetAll();
    this.reader.dropLocal([], true);
    this.events.emit('invalidate', { keys: [], scopes: [], clear: true, source: 'reconnect', version });
    publish(channels.busReconnect, { cache: this.name });
  }
}
