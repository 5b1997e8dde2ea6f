import { ConfigurationError, InvalidIdentifierError, LoaderError } from '../errors.js';
import type { CacheEventMap, CacheEventName, CacheStats } from './cache-events.js';
import { decodeConsistencyToken, type ConsistencyToken } from './consistency-token.js';
import { AuthorizationKeys, type KeyRecord } from './authorization-keys.js';
import { assertIdentifier, isUuid, resourceScope, tagScope, userScope, type IdentifierValidator } from './keys.js';
import { createLayeredCache, type LayeredCache, type LoaderBreakerOptions, type LoaderResult, type ReadItem } from './layered-cache.js';
import type { CacheLayer, InvalidationBus } from './types.js';
import type { VersionClock } from './version.js';

/** One authorization question. */
export interface AuthorizationRequest {
  readonly userId: string;
  readonly resourceId: string;
  readonly action: string;
}

/** The answer. `tags` (a team, say) become invalidation scopes. */
export interface Decision {
  readonly allowed: boolean;
  readonly reason?: string;
  readonly tags?: readonly string[];
}

/** What the loader may resolve to: decisions in request order, optionally with the version they were read at. */
export type AuthorizationLoaderResult = readonly Decision[] | { readonly decisions: readonly Decision[]; readonly version?: string };

/** Options of {@link createAuthorizationCache}. */
export interface AuthorizationCacheOptions {
  /** Layers, fastest first, e.g. `[memoryLayer(…), redisLayer(…)]`. */
  layers: ReadonlyArray<CacheLayer<Decision>>;
  /** Answers a batch of requests in order, typically one database query. */
  loader: (requests: readonly AuthorizationRequest[], context: { readonly signal: AbortSignal }) => Promise<AuthorizationLoaderResult>;
  /** Cross-instance invalidation (e.g. `redisInvalidationBus`). */
  bus?: InvalidationBus;
  /** TTL of an allow decision. @default 60000 */
  ttlMs?: number;
  /** TTL of a deny decision (negative caching). @default 10000 */
  negativeTtlMs?: number;
  /** How long past expiry a decision may be served when the loader fails. @default 0 */
  graceMs?: number;
  /** Reload in the background when a hit is this close to expiry. @default 0 (off) */
  refreshAheadMs?: number;
  /** Identifier check; the default accepts UUIDs only. */
  validateId?: IdentifierValidator;
  /** TTL jitter fraction. @default 0.1 */
  jitter?: number;
  /** The loader's own time limit (the request deadline may shorten it). @default 5000 */
  loaderTimeoutMs?: number;
  /** Breaker around the loader (`createCircuitBreaker` settings). @default { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 5000 } */
  loaderBreaker?: LoaderBreakerOptions;
  /** Version source (a database-backed one makes tokens exact). */
  clock?: VersionClock;
}

/** Options of `check` and `checkMany`. */
export interface CheckOptions {
  /** Aborts the caller's wait. */
  signal?: AbortSignal;
  /** Never answer from an entry older than this token. */
  atLeastAsFresh?: ConsistencyToken | string;
}

/** What `invalidate` drops; fields combine. */
export interface AuthorizationInvalidation {
  /** One decision: the request, or its cache key from `keyOf`. */
  key?: AuthorizationRequest | string;
  userId?: string;
  resourceId?: string;
  tag?: string;
}

/** A decision to warm the cache with; without `decision`, it is loaded. */
export interface WarmEntry extends AuthorizationRequest {
  readonly decision?: Decision;
}

/** Sources `warm` accepts. */
export type WarmSource = Iterable<WarmEntry> | AsyncIterable<WarmEntry> | (() => Iterable<WarmEntry> | AsyncIterable<WarmEntry>);

/**
 * The authorization cache: memory → Redis → loader, invalidated across instances.
 * Create it with {@link createAuthorizationCache}.
 */
export interface AuthorizationCache {
  /** Instance id (the bus origin). */
  readonly id: string;
  /** The decision for one request. @throws {@link InvalidIdentifierError} | {@link LoaderError} */
  check(request: AuthorizationRequest, options?: CheckOptions): Promise<Decision>;
  /**
   * The decision from L1 only, synchronously, or `undefined`. An answer counts
   * as an L1 hit in `stats()`, `hit` events and metrics, and starts a refresh-ahead
   * when the entry is close to expiry; `undefined` counts nothing (call `check`).
   */
  peek(request: AuthorizationRequest, options?: Pick<CheckOptions, 'atLeastAsFresh'>): Decision | undefined;
  /** Decisions for many requests: one multi-get per layer, one loader call for all misses. */
  checkMany(requests: readonly AuthorizationRequest[], options?: CheckOptions): Promise<Decision[]>;
  /** Stores a decision everywhere and drops other instances' L1 copies. */
  set(request: AuthorizationRequest, decision: Decision): Promise<void>;
  /** Invalidates by key, user, resource and/or tag, without scanning Redis. */
  invalidate(target: AuthorizationInvalidation): Promise<void>;
  /** Invalidates every decision (O(1)). */
  clear(): Promise<void>;
  /** Fills the layers (e.g. on startup); resolves to the number of entries warmed. */
  warm(source: WarmSource): Promise<number>;
  /** Hits per layer, hit ratio, loader calls and latency, stale serves, breaker states, p50/p99. */
  stats(): CacheStats;
  /** Adds a listener (`hit`, `miss`, `set`, `invalidate`, `error`, `stale`); returns its disposer. */
  on<E extends CacheEventName>(event: E, listener: (payload: CacheEventMap[E]) => void): () => void;
  /** The cache key of a request (validated). */
  keyOf(request: AuthorizationRequest): string;
  /** Unsubscribes from the bus and releases layer listeners (clients stay open). */
  close(): Promise<void>;
}

const WARM_BATCH = 100;

function validDecision(value: unknown): value is Decision {
  return typeof value === 'object' && value !== null && typeof (value as Decision).allowed === 'boolean';
}

function freezeDecision(decision: Decision): Decision {
  const copy: Decision = {
    allowed: decision.allowed,
    ...(decision.reason !== undefined ? { reason: String(decision.reason) } : {}),
    ...(decision.tags !== undefined ? { tags: Object.freeze(decision.tags.map(String)) } : {}),
  };
  return Object.freeze(copy);
}

/** The engine's read item for a validated request: its key, its invalidation scopes and a copy of the request. */
function readItem(key: string, scopes: readonly string[], request: AuthorizationRequest): ReadItem<AuthorizationRequest> {
  return { key, scopes, request: { userId: request.userId, resourceId: request.resourceId, action: request.action } };
}

class AuthorizationCacheImpl implements AuthorizationCache {
  private readonly engine: LayeredCache<Decision, AuthorizationRequest>;
  /** `itemFor`, bound once: `check` hands it to the engine instead of a closure per call. */
  private readonly itemForKey = (key: string, request: AuthorizationRequest): ReadItem<AuthorizationRequest> => this.itemFor(key, request);
  private readonly validateId: IdentifierValidator;
  private readonly keys: AuthorizationKeys;

  constructor(options: AuthorizationCacheOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigurationError('options', 'must be an object');
    if (typeof options.loader !== 'function') throw new ConfigurationError('loader', 'must be a function');
    this.validateId = options.validateId ?? isUuid;
    this.keys = new AuthorizationKeys(this.validateId);
    const ttlMs = options.ttlMs ?? 60_000;
    const negativeTtlMs = options.negativeTtlMs ?? Math.min(ttlMs, 10_000);
    if (!(negativeTtlMs >= 0) || !Number.isFinite(negativeTtlMs)) throw new ConfigurationError('negativeTtlMs', 'must be a finite number >= 0');
    const loader = options.loader;
    this.engine = createLayeredCache<Decision, AuthorizationRequest>({
      layers: options.layers,
      ttlMs,
      ttlFor: (decision) => (decision.allowed ? ttlMs : negativeTtlMs),
      scopesOf: (decision) => (decision.tags ?? []).map(tagScope),
      loader: async (requests, context): Promise<LoaderResult<Decision>> => {
        const result = await loader(requests, context);
        const decisions = Array.isArray(result) ? result : (result as { decisions?: readonly Decision[] })?.decisions;
        if (!Array.isArray(decisions) || !decisions.every(validDecision)) throw new LoaderError('The authorization loader must resolve to an array of { allowed: boolean } decisions');
        const values = decisions.map(freezeDecision);
        const version = Array.isArray(result) ? undefined : (result as { version?: string }).version;
        return version === undefined ? values : { values, version };
      },
      name: 'authz',
      ...(options.bus ? { bus: options.bus } : {}),
      ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
      ...(options.refreshAheadMs !== undefined ? { refreshAheadMs: options.refreshAheadMs } : {}),
      ...(options.jitter !== undefined ? { jitter: options.jitter } : {}),
      ...(options.loaderTimeoutMs !== undefined ? { loaderTimeoutMs: options.loaderTimeoutMs } : {}),
      ...(options.loaderBreaker ? { loaderBreaker: options.loaderBreaker } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }

  get id(): string {
    return this.engine.id;
  }

  check(request: AuthorizationRequest, options?: CheckOptions): Promise<Decision> {
    let record: KeyRecord;
    let minVersion: string | undefined;
    try {
      record = this.keys.lookup(request);
      minVersion = options?.atLeastAsFresh === undefined ? undefined : decodeConsistencyToken(options.atLeastAsFresh);
    } catch (err) {
      return Promise.reject(err);
    }
    if (minVersion === undefined) {
      // An L1 hit answers synchronously; repeated hits on one entry share one settled promise.
      const entry = this.engine.localHit(record.key, request, this.itemForKey, record);
      if (entry !== undefined) {
        if (record.answered !== entry) {
          record.answered = entry;
          record.answer = Promise.resolve(entry.value);
        }
        return record.answer as Promise<Decision>;
      }
    }
    // The item straight from the record (its scopes too): no second memo lookup on the way to L2.
    return this.engine.get(readItem(record.key, record.scopes, request), options?.signal || minVersion ? { signal: options?.signal, minVersion } : undefined);
  }

  peek(request: AuthorizationRequest, options?: Pick<CheckOptions, 'atLeastAsFresh'>): Decision | undefined {
    const minVersion = options?.atLeastAsFresh === undefined ? undefined : decodeConsistencyToken(options.atLeastAsFresh);
    if (minVersion !== undefined) return this.engine.peek(this.keyOf(request), minVersion);
    // Counted as an L1 hit (stats, `hit` events, metrics) and refreshed ahead like a check() hit:
    // the framework adapters answer most requests through peek. A miss is not counted here;
    // the check() that follows it counts it once.
    const record = this.keys.lookup(request);
    return this.engine.localHit(record.key, request, this.itemForKey, record)?.value;
  }

  async checkMany(requests: readonly AuthorizationRequest[], options?: CheckOptions): Promise<Decision[]> {
    if (!Array.isArray(requests)) throw new InvalidIdentifierError('requests');
    const items = requests.map((request) => this.item(request));
    const minVersion = options?.atLeastAsFresh === undefined ? undefined : decodeConsistencyToken(options.atLeastAsFresh);
    return this.engine.getMany(items, { signal: options?.signal, minVersion });
  }

  async set(request: AuthorizationRequest, decision: Decision): Promise<void> {
    if (!validDecision(decision)) throw new ConfigurationError('decision', 'must be { allowed: boolean }');
    await this.engine.set(this.item(request), freezeDecision(decision));
  }

  async invalidate(target: AuthorizationInvalidation): Promise<void> {
    const keys: string[] = [];
    const scopes: string[] = [];
    if (target.key !== undefined) keys.push(typeof target.key === 'string' ? this.checkedKey(target.key) : this.keyOf(target.key));
    if (target.userId !== undefined) {
      assertIdentifier(target.userId, 'userId', this.validateId);
      scopes.push(userScope(target.userId));
    }
    if (target.resourceId !== undefined) {
      assertIdentifier(target.resourceId, 'resourceId', this.validateId);
      scopes.push(resourceScope(target.resourceId));
    }
    if (target.tag !== undefined) {
      if (typeof target.tag !== 'string' || target.tag.length === 0 || target.tag.length > 256) throw new InvalidIdentifierError('tag');
      scopes.push(tagScope(target.tag));
    }
    await this.engine.invalidate({ keys, scopes });
  }

  clear(): Promise<void> {
    return this.engine.clear();
  }

  async warm(source: WarmSource): Promise<number> {
    const iterable = typeof source === 'function' ? source() : source;
    let count = 0;
    let batch: WarmEntry[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const requests = batch;
      batch = [];
      await this.checkMany(requests);
      count += requests.length;
    };
    for await (const entry of iterable as AsyncIterable<WarmEntry>) {
      if (entry.decision !== undefined) {
        if (!validDecision(entry.decision)) throw new ConfigurationError('decision', 'must be { allowed: boolean }');
        await this.engine.prime(this.item(entry), freezeDecision(entry.decision));
        count++;
        continue;
      }
      batch.push(entry);
      if (batch.length >= WARM_BATCH) await flush();
    }
    await flush();
    return count;
  }

  stats(): CacheStats {
    return this.engine.stats();
  }

  on<E extends CacheEventName>(event: E, listener: (payload: CacheEventMap[E]) => void): () => void {
    return this.engine.on(event, listener);
  }

  keyOf(request: AuthorizationRequest): string {
    // Same string as authorizationKey(), remembered per (user, resource, action): no string is built on a hit.
    return this.keys.keyOf(request);
  }

  close(): Promise<void> {
    return this.engine.close();
  }

  private item(request: AuthorizationRequest): ReadItem<AuthorizationRequest> {
    return this.itemFor(this.keyOf(request), request);
  }

  /** The read item of an already validated request. */
  private itemFor(key: string, request: AuthorizationRequest): ReadItem<AuthorizationRequest> {
    return readItem(key, this.keys.scopesOf(request), request);
  }

  private checkedKey(key: string): string {
    if (typeof key !== 'string' || !key.startsWith('authz:{') || key.length > 1024) throw new InvalidIdentifierError('key');
    return key;
  }
}

/**
 * Creates the authorization cache: layers fastest first, a batch loader,
 * negative caching, grace, refresh-ahead, single-flight, scope invalidation
 * by version stamps (no Redis scans) and an optional cross-instance bus.
 *
 * @throws {@link ConfigurationError} for a missing loader or bad TTLs.
 * @example
 * ```ts
 * const authz = createAuthorizationCache({
 *   layers: [memoryLayer({ max: 50_000, ttlMs: 60_000 }), redisLayer({ client: redis, prefix: 'app:' })],
 *   bus: redisInvalidationBus({ publisher: redis, subscriber: redis.duplicate() }),
 *   loader: (requests) => db.decide(requests), // one query for the whole batch
 *   ttlMs: 60_000, negativeTtlMs: 10_000, graceMs: 300_000, refreshAheadMs: 5_000,
 * });
 * const { allowed } = await authz.check({ userId, resourceId: projectId, action: 'read' });
 * await authz.invalidate({ userId }); // every decision of that user, on every instance
 * ```
 */
export function createAuthorizationCache(options: AuthorizationCacheOptions): AuthorizationCache {
  return new AuthorizationCacheImpl(options);
}
