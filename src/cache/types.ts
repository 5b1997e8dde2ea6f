/**
 * The contracts every cache layer and invalidation bus implements. The core
 * depends on these only, never on a backend: `memoryLayer` lives in the core,
 * `redisLayer` and `redisInvalidationBus` behind `supaguard/redis`.
 *
 * @module
 */

/**
 * One cached value with its timing and provenance. Layers store and return it
 * as is; the layered cache decides what is fresh, stale or invalid.
 *
 * @example
 * ```ts
 * const entry: CacheEntry<Decision> = {
 *   value: { allowed: true }, createdAt: Date.now(), expiresAt: Date.now() + 60_000,
 *   staleUntil: Date.now() + 360_000, version: '1732550400000001', tags: ['u:{…}', 'r:…'],
 * };
 * ```
 */
export interface CacheEntry<V> {
  /** The cached value. */
  readonly value: V;
  /** Wall-clock ms when the read that produced the value started. */
  readonly createdAt: number;
  /** Wall-clock ms after which the value is stale (refreshed on the next read). */
  readonly expiresAt: number;
  /** Wall-clock ms until which a stale value may still be served if the loader fails (grace). */
  readonly staleUntil: number;
  /**
   * Version of the read that produced the value: a non-negative integer in
   * decimal (compare with {@link compareVersions}). Scope invalidations and
   * consistency tokens are versions too; an entry is only used when it is
   * newer than every invalidation of its scopes and at least as fresh as the
   * caller's token.
   */
  readonly version: string;
  /** Invalidation scopes the value belongs to (user, resource, tags). */
  readonly tags: readonly string[];
}

/** Where a layer keeps its entries: in this process, or shared between processes. */
export type CacheLayerKind = 'local' | 'remote';

/** Figures a layer may report in `stats()`. */
export interface CacheLayerStats {
  /** Circuit breaker state of a remote layer. */
  readonly breaker?: 'closed' | 'open' | 'half-open';
  /** Entries held, when the layer knows it cheaply. */
  readonly size?: number;
}

/**
 * The contract of a cache layer (L1 memory, L2 Redis, or your own). Keys are
 * opaque strings built by the cache; a layer may prefix them but must not
 * interpret them. `runLayerConformance` from `supaguard/testing` checks an
 * implementation against this contract.
 *
 * Remote layers must never throw for a miss; they reject when the backend
 * fails or runs out of time, and the cache then degrades to the next layer.
 *
 * @example
 * ```ts
 * const layer: CacheLayer<Decision> = memoryLayer({ max: 50_000, ttlMs: 60_000 });
 * await layer.set('k', entry, 60_000);
 * const hit = await layer.get('k');
 * ```
 */
export interface CacheLayer<V = unknown> {
  /** Name used in stats and events, e.g. `memory` or `redis`. */
  readonly name: string;
  /** `local` layers are per process (dropped on bus messages), `remote` ones shared. */
  readonly kind: CacheLayerKind;
  /** The entry under `key`, or `undefined`. */
  get(key: string): Promise<CacheEntry<V> | undefined>;
  /** Entries for `keys`, in the same order, `undefined` for misses. */
  getMany(keys: readonly string[]): Promise<Array<CacheEntry<V> | undefined>>;
  /** Stores `entry` for at most `ttlMs` milliseconds (the cache passes the remaining lifetime). */
  set(key: string, entry: CacheEntry<V>, ttlMs: number): Promise<void>;
  /** Removes one key. */
  delete(key: string): Promise<void>;
  /** Removes many keys. */
  deleteMany(keys: readonly string[]): Promise<void>;
  /** Removes every key starting with `prefix`, or every key of this layer. */
  clear(prefix?: string): Promise<void>;
  /**
   * Synchronous lookup, for in-process layers only. With a `hint` the layer may remember where the entry
   * lives (in `hint.slot`) and, on the next call with the same hint and key, find it again without a lookup.
   */
  peek?(key: string, hint?: PeekHint): CacheEntry<V> | undefined;
  /** Layer-specific figures. */
  stats?(): CacheLayerStats;
  /** Releases listeners and timers (never closes a client the user passed in). */
  close?(): Promise<void> | void;
}

/**
 * A caller-owned memo for {@link CacheLayer.peek}: an in-process layer stores its own opaque reference to the
 * entry in `slot` and, while that entry is still held under the same key, answers the next `peek` with that
 * key and hint without a hash lookup. The caller keeps one hint per key and never reads `slot`.
 *
 * @example
 * ```ts
 * const hint: PeekHint = { slot: undefined };
 * layer.peek?.('authz:{…}:…:read', hint); // a lookup; remembers the entry in hint.slot
 * layer.peek?.('authz:{…}:…:read', hint); // answered from hint.slot while the layer still holds that entry
 * ```
 */
export interface PeekHint {
  /** Owned by the layer; callers start it as `undefined` and leave it alone. */
  slot: unknown;
}

/**
 * A message on the invalidation bus: keys or scopes, never values. `origin`
 * lets an instance skip its own messages.
 */
export interface InvalidationMessage {
  /** Id of the cache instance that published it. */
  readonly origin: string;
  /** Version at which the invalidation happened. */
  readonly version: string;
  /** Exact cache keys to drop. */
  readonly keys?: readonly string[];
  /** Scopes (user, resource, tag) whose older entries become invalid. */
  readonly scopes?: readonly string[];
  /** True when the whole cache was cleared. */
  readonly clear?: boolean;
}

/** Callbacks a bus calls for each subscriber. */
export interface InvalidationHandlers {
  /** A message from another instance (or this one; the cache filters by origin). */
  onMessage(message: InvalidationMessage): void;
  /** The bus lost its connection and got it back: messages may have been missed. */
  onReconnect(): void;
}

/**
 * The contract of a cross-instance invalidation bus (`redisInvalidationBus`,
 * or your own on NATS, Postgres NOTIFY …).
 *
 * @example
 * ```ts
 * const dispose = bus.subscribe({ onMessage: (m) => console.log(m.keys), onReconnect: () => {} });
 * await bus.publish({ origin: 'a', version: '1', keys: ['authz:…'] });
 * dispose();
 * ```
 */
export interface InvalidationBus {
  /** Sends a message to every subscribed instance. */
  publish(message: InvalidationMessage): Promise<void>;
  /** Registers handlers; returns a disposer. */
  subscribe(handlers: InvalidationHandlers): () => void;
  /** Releases the bus's listeners (never closes clients the user passed in). */
  close?(): Promise<void> | void;
}
