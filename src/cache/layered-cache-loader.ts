import { isAbortedError, LoaderError, isSupaguardError } from '../errors.js';
import { channels, publish, traceCall, tracing } from '../observe/channels.js';
import { createCircuitBreaker, type CircuitBreaker } from '../resilience/circuit-breaker.js';
import { awaitUnlessAborted } from './await-unless-aborted.js';
import type { CacheEvents, CacheStats } from './cache-events.js';
import { LatencyRecorder } from './latency-recorder.js';
import type { Found, LayerReader, ReadItem } from './layer-reader.js';
import type { LayeredCacheOptions, ReadOptions } from './layered-cache-options.js';
import type { SingleFlight } from './single-flight.js';
import type { StampRegistry } from './stamp-registry.js';
import type { CacheEntry, CacheLayer } from './types.js';
import { compareVersions, isVersion, type VersionClock } from './version.js';

/**
 * The counters of one layered cache. One object, shared by the engine and its loader, so the L1
 * fast path bumps `hits` on it directly and `stats()` reads every figure from one place.
 *
 * @example
 * ```ts
 * const counters: CacheCounters = { hits: 0, misses: 0, loaderCalls: 0, loaderKeys: 0, loaderErrors: 0, staleServed: 0, refreshes: 0 };
 * ```
 */
export interface CacheCounters {
  hits: number;
  misses: number;
  loaderCalls: number;
  loaderKeys: number;
  loaderErrors: number;
  staleServed: number;
  refreshes: number;
}

/** The validated figures the loader needs; the engine resolves them once from the options. @example `{ name: 'cache', ttlMs: 60_000, graceMs: 0, jitter: 0.1, loaderTimeoutMs: 5_000 }` */
export interface LoaderSettings {
  readonly name: string;
  readonly ttlMs: number;
  readonly graceMs: number;
  readonly jitter: number;
  readonly loaderTimeoutMs: number;
}

/** The engine's parts the loader works with (the same instances, not copies). @example `{ reader, stamps, clock, flights, events, counters }` */
export interface LoaderContext<V> {
  readonly reader: LayerReader<V>;
  readonly stamps: StampRegistry;
  readonly clock: VersionClock;
  readonly flights: SingleFlight<CacheEntry<V>>;
  readonly events: CacheEvents;
  readonly counters: CacheCounters;
}

/**
 * The loading side of a layered cache: joins usable in-flight loads or starts one batched loader
 * call for the misses, runs the loader under the deadline and its breaker, builds entries (jitter,
 * grace, value-derived scopes) and writes them to every layer unless an invalidation overtook the
 * read. Internal to the layered cache, which keeps the read path and the invalidations.
 *
 * @example
 * ```ts
 * const loader = new LayeredCacheLoader(options, settings, { reader, stamps, clock, flights, events, counters });
 * await loader.loadPending(items, pending, stale, values, undefined);
 * ```
 */
export class LayeredCacheLoader<V, R> {
  private readonly layers: ReadonlyArray<CacheLayer<V>>;
  private readonly reader: LayerReader<V>;
  private readonly stamps: StampRegistry;
  private readonly clock: VersionClock;
  private readonly flights: SingleFlight<CacheEntry<V>>;
  private readonly events: CacheEvents;
  private readonly counters: CacheCounters;
  private readonly loaderBreaker: CircuitBreaker<[], unknown>;
  private readonly loaderLatency = new LatencyRecorder();
  private readonly name: string;
  private readonly ttlMs: number;
  private readonly graceMs: number;
  private readonly jitter: number;

  constructor(
    private readonly options: LayeredCacheOptions<V, R>,
    settings: LoaderSettings,
    context: LoaderContext<V>,
  ) {
    this.layers = options.layers;
    this.reader = context.reader;
    this.stamps = context.stamps;
    this.clock = context.clock;
    this.flights = context.flights;
    this.events = context.events;
    this.counters = context.counters;
    this.name = settings.name;
    this.ttlMs = settings.ttlMs;
    this.graceMs = settings.graceMs;
    this.jitter = settings.jitter;
    // The loader breaker is the resilience module's, so it shows up in listCircuitBreakers() for metrics.
    this.loaderBreaker = createCircuitBreaker(() => undefined, {
      volumeThreshold: 5,
      errorThresholdPercentage: 50,
      resetTimeoutMs: 5_000,
      ...options.loaderBreaker,
      name: `${options.name ?? 'cache'}.loader`,
      timeoutMs: settings.loaderTimeoutMs,
    });
  }

  /** Joins or starts the loads of the `pending` indexes and fills `values`; within grace, a failed load serves the stale entry. */
  async loadPending(
    items: ReadonlyArray<ReadItem<R>>,
    pending: readonly number[],
    staleEntries: ReadonlyMap<number, Found<V>>,
    values: V[],
    options: ReadOptions | undefined,
  ): Promise<void> {
    const minVersion = options?.minVersion;
    this.counters.misses += pending.length;
    const waits = this.joinOrLoad(items, pending, minVersion);
    await Promise.all(
      pending.map(async (index, j) => {
        const item = items[index] as ReadItem<R>;
        try {
          values[index] = (await awaitUnlessAborted(waits[j] as Promise<CacheEntry<V>>, options?.signal, `${this.name}.get`)).value;
        } catch (err) {
          const stale = staleEntries.get(index);
          if (stale === undefined || isAbortedError(err) || stale.entry.staleUntil <= Date.now()) throw this.loaderFailure(err);
          this.counters.staleServed++;
          this.events.emit('stale', { key: item.key, layer: stale.layer, error: err });
          publish(channels.cacheStale, { layer: stale.layer });
          values[index] = stale.entry.value;
        }
      }),
    );
  }

  /** Runs the loader for `batch` under the deadline and the breaker, then writes every layer. */
  async load(batch: ReadonlyArray<ReadItem<R>>, version: string): Promise<Array<CacheEntry<V>>> {
    const createdAt = Date.now();
    this.counters.loaderCalls++;
    this.counters.loaderKeys += batch.length;
    const started = performance.now();
    let values: readonly V[];
    let entryVersion = version;
    try {
      const requests = batch.map((item) => item.request);
      // The breaker bounds the call by min(loaderTimeoutMs, remaining deadline) and aborts its signal.
      const result = await traceCall(tracing.loader, { operation: this.name }, () =>
        this.loaderBreaker.execute((signal) => this.options.loader(requests, { signal })),
      );
      values = Array.isArray(result) ? result : (result as { values: readonly V[] }).values;
      const loadedVersion = Array.isArray(result) ? undefined : (result as { version?: string }).version;
      if (!Array.isArray(values) || values.length !== batch.length) {
        throw new LoaderError(`The loader returned ${Array.isArray(values) ? values.length : 'no'} values for ${batch.length} requests`);
      }
      if (loadedVersion !== undefined && isVersion(loadedVersion)) {
        this.clock.observe(loadedVersion);
        entryVersion = loadedVersion;
      }
    } catch (err) {
      this.counters.loaderErrors++;
      this.events.emit('error', { error: err, phase: 'loader' });
      throw err;
    } finally {
      this.loaderLatency.record(performance.now() - started);
    }
    const entries = batch.map((item, j) => this.buildEntry(item, values[j] as V, entryVersion, createdAt));
    await Promise.all(entries.map((entry, j) => this.write(batch[j] as ReadItem<R>, entry, 'loader')));
    return entries;
  }

  /** Writes `value` to every layer as a new entry (`set`, `prime`), under the same stamp check as a load. */
  store(item: ReadItem<R>, value: V, source: 'set' | 'warm'): Promise<void> {
    return this.write(item, this.buildEntry(item, value, this.clock.now(), Date.now()), source);
  }

  /** The loader's figures for {@link CacheStats}. */
  stats(): CacheStats['loader'] {
    return {
      ...this.loaderLatency.summary(),
      calls: this.counters.loaderCalls,
      keys: this.counters.loaderKeys,
      errors: this.counters.loaderErrors,
      breaker: this.loaderBreaker.state,
    };
  }

  /** Releases the loader breaker (and its place in listCircuitBreakers()). */
  dispose(): void {
    this.loaderBreaker.dispose();
  }

  /** One promise per pending index: joins a usable in-flight load or starts one batched load. */
  private joinOrLoad(items: ReadonlyArray<ReadItem<R>>, pending: readonly number[], minVersion: string | undefined): Array<Promise<CacheEntry<V>>> {
    const waits: Array<Promise<CacheEntry<V>>> = [];
    const batch: Array<ReadItem<R>> = [];
    const batchIndex = new Map<string, number>();
    for (const index of pending) {
      const item = items[index] as ReadItem<R>;
      const flight = this.flights.get(item.key);
      const joinable =
        flight !== undefined &&
        this.stamps.allows(flight.version, item.key, item.scopes) &&
        (minVersion === undefined || compareVersions(flight.version, minVersion) >= 0);
      if (joinable) {
        waits.push(flight.promise);
        continue;
      }
      if (!batchIndex.has(item.key)) {
        batchIndex.set(item.key, batch.length);
        batch.push(item);
      }
      waits.push(undefined as unknown as Promise<CacheEntry<V>>);
    }
    if (batch.length > 0) {
      const version = this.clock.now();
      const loaded = this.load(batch, version);
      const perKey = batch.map((item, j) => this.flights.track(item.key, version, loaded.then((entries) => entries[j] as CacheEntry<V>)).promise);
      pending.forEach((index, j) => {
        if (waits[j] === undefined) waits[j] = perKey[batchIndex.get((items[index] as ReadItem<R>).key) as number] as Promise<CacheEntry<V>>;
      });
    }
    return waits;
  }

  private buildEntry(item: ReadItem<R>, value: V, version: string, createdAt: number): CacheEntry<V> {
    const base = this.options.ttlFor ? this.options.ttlFor(value) : this.ttlMs;
    const ttl = Math.max(1, Math.round(base * (1 + (Math.random() * 2 - 1) * this.jitter)));
    const extra = this.options.scopesOf?.(value) ?? [];
    const expiresAt = createdAt + ttl;
    return { value, createdAt, expiresAt, staleUntil: expiresAt + this.graceMs, version, tags: extra.length ? [...item.scopes, ...extra] : item.scopes };
  }

  /** Writes to every layer unless an invalidation overtook the read that produced `entry`. */
  private async write(item: ReadItem<R>, entry: CacheEntry<V>, source: 'loader' | 'set' | 'warm'): Promise<void> {
    if (!this.stamps.isValid(entry, item.key)) return;
    await this.reader.writeAll(item.key, entry, this.layers.length);
    if (this.events.active > 0) this.events.emit('set', { key: item.key, source });
  }

  private loaderFailure(err: unknown): unknown {
    if (isAbortedError(err) || (isSupaguardError(err) && err.code === 'E_LOADER')) return err;
    const code = isSupaguardError(err) ? ` (${err.code})` : '';
    return new LoaderError(`The ${this.name} loader failed${code} and no value within grace was cached`, { cause: err });
  }
}
