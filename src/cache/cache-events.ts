/**
 * Events and statistics of the layered cache. Listeners return disposers;
 * emitting to no listener costs one property read.
 *
 * @module
 */
import type { LatencySummary } from './latency-recorder.js';
import type { CircuitState } from '../resilience/circuit-breaker.js';

/** Payloads of every cache event. */
export interface CacheEventMap {
  /** A fresh value was found in `layer`. */
  hit: { readonly key: string; readonly layer: string };
  /** `layer` had no usable value for `key`. */
  miss: { readonly key: string; readonly layer: string };
  /** A value was written (loaded, set or warmed). */
  set: { readonly key: string; readonly source: 'loader' | 'set' | 'warm' };
  /** Keys, scopes or everything were invalidated, here or on another instance. */
  invalidate: {
    readonly keys: readonly string[];
    readonly scopes: readonly string[];
    readonly clear: boolean;
    readonly source: 'local' | 'bus' | 'reconnect';
    readonly version: string;
  };
  /** A layer, the loader or the bus failed; the cache degraded instead of failing when it could. */
  error: { readonly error: unknown; readonly phase: 'layer' | 'loader' | 'bus' | 'refresh'; readonly layer?: string };
  /** A stale value (within grace) was served because the loader failed. */
  stale: { readonly key: string; readonly layer: string; readonly error: unknown };
}

/** Names of the cache events. */
export type CacheEventName = keyof CacheEventMap;

/** Figures per layer in {@link CacheStats}. */
export interface LayerStatsSnapshot extends LatencySummary {
  readonly name: string;
  readonly kind: 'local' | 'remote';
  readonly hits: number;
  readonly misses: number;
  readonly errors: number;
  /** hits / (hits + misses), 0 before any read. */
  readonly hitRatio: number;
  readonly breaker?: CircuitState;
}

/** What `stats()` returns. */
export interface CacheStats {
  readonly layers: readonly LayerStatsSnapshot[];
  /** Reads answered from any layer. */
  readonly hits: number;
  /** Reads that needed the loader. */
  readonly misses: number;
  /** hits / (hits + misses). */
  readonly hitRatio: number;
  readonly loader: LatencySummary & { readonly calls: number; readonly keys: number; readonly errors: number; readonly breaker: CircuitState };
  /** Stale values served within grace. */
  readonly staleServed: number;
  /** Background refresh-ahead loads started. */
  readonly refreshes: number;
  /** Loads in flight right now. */
  readonly inFlight: number;
  /** Invalidation stamps held in memory. */
  readonly stamps: number;
}

type Listener<E extends CacheEventName> = (payload: CacheEventMap[E]) => void;

/**
 * A tiny typed emitter; a throwing listener never breaks the cache.
 *
 * @example
 * ```ts
 * const events = new CacheEvents();
 * const off = events.on('hit', ({ key }) => console.log(key));
 * off();
 * ```
 */
export class CacheEvents {
  private readonly listeners = new Map<CacheEventName, Set<(payload: never) => void>>();
  /** Cheap check used on hot paths before building a payload. */
  active = 0;

  /** Adds a listener; returns its disposer. */
  on<E extends CacheEventName>(event: E, listener: Listener<E>): () => void {
    let set = this.listeners.get(event) as Set<Listener<E>> | undefined;
    if (!set) {
      set = new Set();
      this.listeners.set(event, set as Set<(payload: never) => void>);
    }
    set.add(listener);
    this.active++;
    return () => {
      if (set.delete(listener)) this.active--;
    };
  }

  /** True when `event` has a listener. */
  has(event: CacheEventName): boolean {
    return this.active > 0 && (this.listeners.get(event)?.size ?? 0) > 0;
  }

  /** Calls every listener of `event`. */
  emit<E extends CacheEventName>(event: E, payload: CacheEventMap[E]): void {
    if (this.active === 0) return;
    const set = this.listeners.get(event) as Set<Listener<E>> | undefined;
    if (!set) return;
    for (const listener of set) {
      try {
        listener(payload);
      } catch {
        // A listener's bug must not turn a cache hit into a failed request.
      }
    }
  }
}
