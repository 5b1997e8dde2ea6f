import { GLOBAL_SCOPE } from './keys.js';
import { compareVersions } from './version.js';
import type { CacheEntry } from './types.js';

interface Stamp {
  version: string;
  /** Wall-clock ms when it was recorded here, for pruning. */
  at: number;
}

/**
 * The invalidation stamps one cache instance knows: scope (or `k:<key>`) →
 * the version at which it was last invalidated. An entry is valid only when
 * its version is newer than the stamps of its key, its scopes and the global
 * scope. Stamps older than the longest possible entry lifetime are pruned,
 * since no entry they could invalidate can still exist.
 *
 * @example
 * ```ts
 * const stamps = new StampRegistry(10 * 60_000);
 * stamps.record('u:{…}', clock.now());
 * stamps.isValid(entry, key); // false for entries of that user read before
 * ```
 */
export class StampRegistry {
  private readonly stamps = new Map<string, Stamp>();
  /** The newest stamp recorded: entries newer than it skip the lookups. */
  private newest = '0';
  private pruneAt = 1024;

  constructor(private readonly retentionMs: number) {}

  /** Records that `scope` was invalidated at `version` (keeps the newer of two). */
  record(scope: string, version: string): void {
    const existing = this.stamps.get(scope);
    if (existing !== undefined && compareVersions(existing.version, version) >= 0) return;
    this.stamps.set(scope, { version, at: Date.now() });
    if (compareVersions(version, this.newest) > 0) this.newest = version;
    if (this.stamps.size >= this.pruneAt) this.prune();
  }

  /** Records an exact-key invalidation. */
  recordKey(key: string, version: string): void {
    this.record(`k:${key}`, version);
  }

  /** True when `version` is newer than every stamp of `key`, `scopes` and the global scope. */
  allows(version: string, key: string, scopes: readonly string[]): boolean {
    return this.stamps.size === 0 || compareVersions(version, this.newest) > 0 || this.allowsDespiteStamps(version, key, scopes);
  }

  /** True when `entry` (stored under `key`) survives every stamp known here. */
  isValid(entry: CacheEntry<unknown>, key: string): boolean {
    // The common case (no stamp newer than the entry) stays small enough to inline into the hit path.
    return this.stamps.size === 0 || compareVersions(entry.version, this.newest) > 0 || this.allowsDespiteStamps(entry.version, key, entry.tags);
  }

  /** Number of stamps held. */
  get size(): number {
    return this.stamps.size;
  }

  /** The lookups, when some stamp is at least as new as `version`. */
  private allowsDespiteStamps(version: string, key: string, scopes: readonly string[]): boolean {
    if (this.blocks(GLOBAL_SCOPE, version) || this.blocks(`k:${key}`, version)) return false;
    for (const scope of scopes) if (this.blocks(scope, version)) return false;
    return true;
  }

  private blocks(scope: string, version: string): boolean {
    const stamp = this.stamps.get(scope);
    return stamp !== undefined && compareVersions(version, stamp.version) <= 0;
  }

  private prune(): void {
    const cutoff = Date.now() - this.retentionMs;
    for (const [scope, stamp] of this.stamps) if (stamp.at < cutoff) this.stamps.delete(scope);
    this.pruneAt = Math.max(1024, this.stamps.size * 2);
  }
}
