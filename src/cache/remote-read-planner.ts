import { GLOBAL_SCOPE, stampKey } from './keys.js';
import type { StampRegistry } from './stamp-registry.js';
import type { CacheEntry, CacheLayer } from './types.js';
import { isVersion, type VersionClock } from './version.js';

/** The global scope's stamp key, built once. */
const GLOBAL_STAMP_KEY = stampKey(GLOBAL_SCOPE);

/** Stamp keys remembered at most (then the memo starts over). */
const MAX_STAMP_KEYS = 20_000;

/** What a remote read needs of an item: its key and the scopes known before reading. */
export interface PlannedItem {
  readonly key: string;
  readonly scopes: readonly string[];
}

/**
 * What one remote multi-get asks for: the `n` entries, then the stamps of `scopeList`, in `keys` order;
 * `scopes` is the same list as a set, except for a single item (its list is short enough to scan).
 */
export interface RemotePlan {
  readonly n: number;
  readonly keys: string[];
  readonly scopeList: string[];
  readonly scopes: Set<string> | undefined;
}

/**
 * A remote layer that can run the reader's continuation in the callback that completes its multi-get,
 * `getManyThen(keys, onValue, onError)` meaning `getMany(keys).then(onValue, onError)` (the Redis layer).
 */
interface ContinuingLayer<V> {
  getManyThen<T>(
    keys: readonly string[],
    onValue: (entries: Array<CacheEntry<V> | undefined>) => T | PromiseLike<T>,
    onError: (err: unknown) => T | PromiseLike<T>,
  ): Promise<T>;
}

/**
 * `layer.getMany(keys).then(onValue, onError)`, without the hop of `then` when the layer can run the
 * continuation itself. Internal to the layered cache.
 *
 * @example
 * ```ts
 * return getManyThen(layer, plan.keys, (got) => judge(got), (err) => skip(err));
 * ```
 */
export function getManyThen<V, T>(
  layer: CacheLayer<V>,
  keys: readonly string[],
  onValue: (entries: Array<CacheEntry<V> | undefined>) => T | PromiseLike<T>,
  onError: (err: unknown) => T | PromiseLike<T>,
): Promise<T> {
  const continuing = layer as Partial<ContinuingLayer<V>>;
  return typeof continuing.getManyThen === 'function' ? continuing.getManyThen(keys, onValue, onError) : layer.getMany(keys).then(onValue, onError);
}

/**
 * Plans the keys of a remote read — the entries plus the invalidation stamps of their scopes and of the
 * global scope, in one multi-get — and records the stamps that come back, so a remote entry that predates
 * an invalidation this process never heard of is still judged stale. Internal to the layered cache.
 *
 * @example
 * ```ts
 * const planner = new RemoteReadPlanner(stamps, clock);
 * const plan = planner.plan(items);
 * const entries = await layer.getMany(plan.keys).then((got) => planner.entries(layer, plan, got));
 * ```
 */
export class RemoteReadPlanner<V> {
  /** scope → its stamp key, so hot scopes' stamp keys are built and hashed once. */
  private readonly stampKeys = new Map<string, string>();

  constructor(
    private readonly stamps: StampRegistry,
    private readonly clock: VersionClock,
  ) {}

  /**
   * `plan` for one item. Stamp keys are concatenated, not looked up in `stampKeys`: a lookup in
   * that large Map runs cold in the CPU caches between two round trips and costs more than building the
   * short string (the MGET batcher hashes the keys only when several reads share a tick).
   */
  planOne(item: PlannedItem): RemotePlan {
    const keys = [item.key, GLOBAL_STAMP_KEY];
    const scopeList = [GLOBAL_SCOPE];
    const scopes = item.scopes;
    for (let i = 0; i < scopes.length; i++) {
      const scope = scopes[i] as string;
      if (scopeList.includes(scope)) continue;
      scopeList.push(scope);
      keys.push(stampKey(scope));
    }
    return { n: 1, keys, scopeList, scopes: undefined };
  }

  /** The keys of one remote multi-get: the entries, then the stamps of their scopes and of the global scope. */
  plan(batch: readonly PlannedItem[]): RemotePlan {
    // Remote entries may predate invalidations this process never saw: read the stamps of their scopes with them.
    if (batch.length === 1) return this.planOne(batch[0] as PlannedItem);
    const n = batch.length;
    const keys: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) keys[i] = (batch[i] as PlannedItem).key;
    const scopeList: string[] = [GLOBAL_SCOPE];
    keys.push(GLOBAL_STAMP_KEY);
    const scopes = new Set<string>(scopeList);
    for (const item of batch) {
      for (const scope of item.scopes) {
        if (scopes.has(scope)) continue;
        scopes.add(scope);
        scopeList.push(scope);
        keys.push(this.stampKeyOf(scope));
      }
    }
    return { n, keys, scopeList, scopes };
  }

  /** Records the stamps read with the entries; tagged entries need one more multi-get for their tags' stamps. */
  entries(layer: CacheLayer<V>, plan: RemotePlan, got: Array<CacheEntry<V> | undefined>): Array<CacheEntry<V> | undefined> | Promise<Array<CacheEntry<V> | undefined>> {
    const { n, scopeList, scopes } = plan;
    this.recordStamps(scopeList, got, n);
    const entries = got.slice(0, n);
    let extra: Set<string> | undefined;
    for (const entry of entries) {
      if (entry === undefined) continue;
      for (const tag of entry.tags) {
        if (scopes !== undefined ? scopes.has(tag) : scopeList.includes(tag)) continue;
        (extra ??= new Set()).add(tag);
      }
    }
    if (extra === undefined) return entries;
    // Tags (teams …) are only known once the entry is read: one more multi-get, only for tagged entries.
    const tagList = [...extra];
    return layer.getMany(tagList.map((tag) => this.stampKeyOf(tag))).then((stamps) => {
      this.recordStamps(tagList, stamps, 0);
      return entries;
    });
  }

  /** `stampKey(scope)`, remembered: the same string object each time, so its hash is computed once. */
  private stampKeyOf(scope: string): string {
    let key = this.stampKeys.get(scope);
    if (key === undefined) {
      if (this.stampKeys.size >= MAX_STAMP_KEYS) this.stampKeys.clear();
      key = stampKey(scope);
      this.stampKeys.set(scope, key);
    }
    return key;
  }

  /** Records the stamps read for `scopes`, found in `stamps` from index `offset` on. */
  private recordStamps(scopes: readonly string[], stamps: ReadonlyArray<CacheEntry<V> | undefined>, offset: number): void {
    for (let j = 0; j < scopes.length; j++) {
      const stamp = stamps[offset + j];
      if (stamp === undefined) continue;
      const value = stamp.value as unknown;
      if (!isVersion(value)) continue;
      this.clock.observe(value);
      this.stamps.record(scopes[j] as string, value);
    }
  }
}
