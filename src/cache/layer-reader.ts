import type { CacheEvents, LayerStatsSnapshot } from './cache-events.js';
import { LatencyRecorder } from './latency-recorder.js';
import type { StampRegistry } from './stamp-registry.js';
import type { CacheEntry, CacheLayer } from './types.js';
import { getManyThen, RemoteReadPlanner } from './remote-read-planner.js';
import { compareVersions, type VersionClock } from './version.js';
import { channels } from '../observe/channels.js';

/** One thing to read: its cache key, the scopes known before reading, and the loader's request. */
export interface ReadItem<R> {
  readonly key: string;
  /** Invalidation scopes of the key (e.g. its user and resource); their stamps are read with the entry. */
  readonly scopes: readonly string[];
  readonly request: R;
}

/** An entry found in a layer. */
export interface Found<V> {
  readonly entry: CacheEntry<V>;
  readonly layer: string;
}

/** Outcome of reading a batch through the layers. */
export interface ReadResult<V> {
  /** Index → fresh entry. */
  readonly fresh: Map<number, Found<V>>;
  /** Index → stale entry within grace (a fallback if the loader fails). */
  readonly stale: Map<number, Found<V>>;
  /** Indexes no layer could answer, in order. */
  readonly pending: number[];
}

/** Outcome of reading one item: the fresh entry, if any, and a stale one within grace as a fallback. */
export interface OneRead<V> {
  readonly fresh: Found<V> | undefined;
  readonly stale: Found<V> | undefined;
}

interface LayerCounters {
  hits: number;
  misses: number;
  errors: number;
  readonly latency: LatencyRecorder;
}

/**
 * Walks the layers for a batch: one multi-get per layer (remote layers also
 * fetch the scope stamps in the same call), judges entries against stamps and
 * consistency tokens, and backfills upper layers with the remaining lifetime.
 * Internal to the layered cache.
 *
 * @example
 * ```ts
 * const reader = new LayerReader(layers, stamps, clock, events);
 * const { fresh, pending } = await reader.read(items, undefined);
 * ```
 */
export class LayerReader<V> {
  private readonly counters: LayerCounters[];
  private readonly remote: RemoteReadPlanner<V>;

  constructor(
    private readonly layers: ReadonlyArray<CacheLayer<V>>,
    private readonly stamps: StampRegistry,
    clock: VersionClock,
    private readonly events: CacheEvents,
  ) {
    this.counters = layers.map(() => ({ hits: 0, misses: 0, errors: 0, latency: new LatencyRecorder() }));
    this.remote = new RemoteReadPlanner(stamps, clock);
  }

  /** The hit counter of layer `layerIndex`, for the engine's synchronous L1 fast path (a dummy when there is none). */
  countersOf(layerIndex: number): { hits: number } {
    return this.counters[layerIndex] ?? { hits: 0 };
  }

  /** Reads `items` through every layer, fastest first. */
  async read<R>(items: ReadonlyArray<ReadItem<R>>, minVersion: string | undefined): Promise<ReadResult<V>> {
    const fresh = new Map<number, Found<V>>();
    const stale = new Map<number, Found<V>>();
    let pending = items.map((_, i) => i);
    for (let li = 0; li < this.layers.length && pending.length > 0; li++) {
      const layer = this.layers[li] as CacheLayer<V>;
      const counters = this.counters[li] as LayerCounters;
      const batch = pending.map((i) => items[i] as ReadItem<R>);
      let entries: Array<CacheEntry<V> | undefined>;
      const started = performance.now();
      try {
        entries = await this.readLayer(layer, batch);
        counters.latency.record(performance.now() - started);
      } catch (err) {
        // A failing layer is skipped: the read degrades to the next layer or the loader.
        counters.errors++;
        this.events.emit('error', { error: err, phase: 'layer', layer: layer.name });
        continue;
      }
      const now = Date.now();
      const next: number[] = [];
      for (let j = 0; j < pending.length; j++) {
        const index = pending[j] as number;
        const entry = entries[j];
        const verdict = this.classify(li, (items[index] as ReadItem<R>).key, entry, minVersion, now);
        if (verdict === 'fresh') {
          fresh.set(index, { entry: entry as CacheEntry<V>, layer: layer.name });
          continue;
        }
        if (verdict === 'stale' && !stale.has(index)) stale.set(index, { entry: entry as CacheEntry<V>, layer: layer.name });
        next.push(index);
      }
      pending = next;
    }
    return { fresh, stale, pending };
  }

  /**
   * Reads one item through the layers: what `read` does for a batch of one, with a promise chain instead of
   * async frames and without the batch bookkeeping (the single `check` on an L1 miss). `then` runs inside the
   * chain (one promise hop fewer than chaining on the result).
   */
  readOne<R, T>(item: ReadItem<R>, minVersion: string | undefined, then: (read: OneRead<V>) => T | PromiseLike<T>): Promise<T> {
    return this.readOneFrom(item, minVersion, 0, undefined, then);
  }

  private readOneFrom<R, T>(
    item: ReadItem<R>,
    minVersion: string | undefined,
    from: number,
    stale: Found<V> | undefined,
    then: (read: OneRead<V>) => T | PromiseLike<T>,
  ): Promise<T> {
    for (let li = from; li < this.layers.length; li++) {
      const layer = this.layers[li] as CacheLayer<V>;
      if (layer.kind === 'local' && layer.peek !== undefined) {
        const started = performance.now();
        const entry = layer.peek(item.key);
        (this.counters[li] as LayerCounters).latency.record(performance.now() - started);
        const verdict = this.classify(li, item.key, entry, minVersion, Date.now());
        if (verdict === 'fresh') return Promise.resolve(then({ fresh: { entry: entry as CacheEntry<V>, layer: layer.name }, stale }));
        if (verdict === 'stale' && stale === undefined) stale = { entry: entry as CacheEntry<V>, layer: layer.name };
        continue;
      }
      const before = stale;
      const started = performance.now();
      // Anonymous callbacks that call methods: no named closure per read (a named one costs a defineProperty
      // per call under esbuild's keepNames, which tsx and the benchmarks use).
      if (layer.kind === 'local') {
        return layer.getMany([item.key]).then(
          (entries) => this.judgeOne(li, item, minVersion, before, started, then, entries),
          (err: unknown) => this.skipLayer(li, item, minVersion, before, then, err),
        );
      }
      const plan = this.remote.planOne(item);
      // The stamps are recorded in the same callback that judges the entry: no extra hop per layer.
      return getManyThen(
        layer,
        plan.keys,
        (got): T | PromiseLike<T> => {
          const entries = this.remote.entries(layer, plan, got);
          if (Array.isArray(entries)) return this.judgeOne(li, item, minVersion, before, started, then, entries);
          return entries.then(
            (tagged) => this.judgeOne(li, item, minVersion, before, started, then, tagged),
            (err: unknown) => this.skipLayer(li, item, minVersion, before, then, err),
          );
        },
        (err: unknown) => this.skipLayer(li, item, minVersion, before, then, err),
      );
    }
    return Promise.resolve(then({ fresh: undefined, stale }));
  }

  /** `readOneFrom`'s continuation after remote (or async local) layer `li` answered. */
  private judgeOne<R, T>(
    li: number,
    item: ReadItem<R>,
    minVersion: string | undefined,
    stale: Found<V> | undefined,
    started: number,
    then: (read: OneRead<V>) => T | PromiseLike<T>,
    entries: Array<CacheEntry<V> | undefined>,
  ): T | PromiseLike<T> {
    (this.counters[li] as LayerCounters).latency.record(performance.now() - started);
    const entry = entries[0];
    const verdict = this.classify(li, item.key, entry, minVersion, Date.now());
    const layer = this.layers[li] as CacheLayer<V>;
    if (verdict === 'fresh') return then({ fresh: { entry: entry as CacheEntry<V>, layer: layer.name }, stale });
    const next = verdict === 'stale' && stale === undefined ? { entry: entry as CacheEntry<V>, layer: layer.name } : stale;
    return this.readOneFrom(item, minVersion, li + 1, next, then);
  }

  /** A failing layer is skipped: the read degrades to the next layer or the loader. */
  private skipLayer<R, T>(li: number, item: ReadItem<R>, minVersion: string | undefined, stale: Found<V> | undefined, then: (read: OneRead<V>) => T | PromiseLike<T>, err: unknown): Promise<T> {
    (this.counters[li] as LayerCounters).errors++;
    this.events.emit('error', { error: err, phase: 'layer', layer: (this.layers[li] as CacheLayer<V>).name });
    return this.readOneFrom(item, minVersion, li + 1, stale, then);
  }

  /** Judges what layer `li` returned for `key`, counts it, reports it, and backfills upper layers on a hit. */
  private classify(li: number, key: string, entry: CacheEntry<V> | undefined, minVersion: string | undefined, now: number): 'fresh' | 'stale' | undefined {
    const layer = this.layers[li] as CacheLayer<V>;
    const counters = this.counters[li] as LayerCounters;
    const verdict = entry === undefined ? undefined : this.judge(entry, key, minVersion, now);
    if (verdict === 'fresh') {
      counters.hits++;
      if (li > 0) this.backfill(li, key, entry as CacheEntry<V>, now);
      if (this.events.active > 0) this.events.emit('hit', { key, layer: layer.name });
      if (channels.cacheHit.hasSubscribers) channels.cacheHit.publish({ layer: layer.name });
      return verdict;
    }
    counters.misses++;
    if (this.events.active > 0) this.events.emit('miss', { key, layer: layer.name });
    if (channels.cacheMiss.hasSubscribers) channels.cacheMiss.publish({ layer: layer.name });
    return verdict;
  }

  /** Writes `entry` to the first `upTo` layers for its remaining lifetime; failures are reported, not thrown. */
  async writeAll(key: string, entry: CacheEntry<V>, upTo: number): Promise<void> {
    const ttl = entry.staleUntil - Date.now();
    if (ttl <= 0) return;
    const writes: Array<Promise<void>> = [];
    for (let li = 0; li < upTo; li++) {
      const layer = this.layers[li] as CacheLayer<V>;
      writes.push(
        layer.set(key, entry, ttl).catch((err: unknown) => {
          (this.counters[li] as LayerCounters).errors++;
          this.events.emit('error', { error: err, phase: 'layer', layer: layer.name });
        }),
      );
    }
    await Promise.all(writes);
  }

  /** Deletes `keys` and writes scope stamps in every remote layer; resolves to the failures. */
  async stampRemote(keys: readonly string[], stampKeys: readonly string[], version: string, ttlMs: number): Promise<unknown[]> {
    const now = Date.now();
    const stamp = { value: version, createdAt: now, expiresAt: now + ttlMs, staleUntil: now + ttlMs, version, tags: [] } as unknown as CacheEntry<V>;
    const failures: unknown[] = [];
    await Promise.all(
      this.layers
        .filter((layer) => layer.kind === 'remote')
        .flatMap((layer) => [
          keys.length > 0 ? layer.deleteMany(keys) : Promise.resolve(),
          ...stampKeys.map((key) => layer.set(key, stamp, ttlMs)),
        ])
        .map((p) =>
          p.catch((err: unknown) => {
            failures.push(err);
            this.events.emit('error', { error: err, phase: 'layer' });
          }),
        ),
    );
    return failures;
  }

  /** Drops `keys` (or everything, with `clear`) from the local layers. */
  dropLocal(keys: readonly string[], clear: boolean): void {
    for (const layer of this.layers) {
      if (layer.kind !== 'local') continue;
      const done = clear ? layer.clear() : keys.length > 0 ? layer.deleteMany(keys) : undefined;
      done?.catch((err: unknown) => this.events.emit('error', { error: err, phase: 'layer', layer: layer.name }));
    }
  }

  /** Figures per layer. */
  layerStats(): LayerStatsSnapshot[] {
    return this.layers.map((layer, li) => {
      const c = this.counters[li] as LayerCounters;
      const breaker = layer.stats?.().breaker;
      return {
        name: layer.name,
        kind: layer.kind,
        hits: c.hits,
        misses: c.misses,
        errors: c.errors,
        hitRatio: c.hits + c.misses === 0 ? 0 : c.hits / (c.hits + c.misses),
        ...c.latency.summary(),
        ...(breaker ? { breaker } : {}),
      };
    });
  }

  private judge(entry: CacheEntry<V>, key: string, minVersion: string | undefined, now: number): 'fresh' | 'stale' | undefined {
    if (entry.staleUntil <= now && entry.expiresAt <= now) return undefined;
    if (!this.stamps.isValid(entry, key)) return undefined;
    if (minVersion !== undefined && compareVersions(entry.version, minVersion) < 0) return undefined;
    return entry.expiresAt > now ? 'fresh' : 'stale';
  }

  private readLayer<R>(layer: CacheLayer<V>, batch: ReadonlyArray<ReadItem<R>>): Promise<Array<CacheEntry<V> | undefined>> {
    if (layer.kind === 'local') {
      const peek = layer.peek?.bind(layer);
      return peek ? Promise.resolve(batch.map((item) => peek(item.key))) : layer.getMany(batch.map((item) => item.key));
    }
    const plan = this.remote.plan(batch);
    // A `then`, not an async frame: one promise hop fewer on every L2 read.
    return layer.getMany(plan.keys).then((got) => this.remote.entries(layer, plan, got));
  }

  private backfill(layerIndex: number, key: string, entry: CacheEntry<V>, now: number): void {
    // Upper layers get the entry's remaining lifetime, never a fresh TTL.
    const ttl = entry.staleUntil - now;
    if (ttl <= 0) return;
    for (let li = 0; li < layerIndex; li++) {
      const layer = this.layers[li] as CacheLayer<V>;
      layer.set(key, entry, ttl).catch((err: unknown) => this.events.emit('error', { error: err, phase: 'layer', layer: layer.name }));
    }
  }
}
