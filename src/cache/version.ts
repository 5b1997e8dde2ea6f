/**
 * Versions order cache entries, invalidations and consistency tokens. A
 * version is a non-negative integer written in decimal without leading zeros,
 * so it can come from a clock here or from a database sequence / transaction
 * id later, and compares without allocating a bigint.
 *
 * @module
 */

/**
 * True when `value` is a well-formed version string.
 *
 * @example
 * ```ts
 * isVersion('1732550400000001'); // true
 * isVersion('01'); // false
 * ```
 */
export function isVersion(value: unknown): value is string {
  // Same rule as /^(0|[1-9][0-9]{0,39})$/, without the regex (it runs for every entry read from Redis).
  if (typeof value !== 'string') return false;
  const length = value.length;
  if (length === 0 || length > 40) return false;
  const first = value.charCodeAt(0);
  if (first === 48) return length === 1;
  if (first < 49 || first > 57) return false;
  for (let i = 1; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

/**
 * Compares two versions: negative when `a` is older, 0 when equal, positive when newer.
 *
 * @example
 * ```ts
 * compareVersions('9', '10'); // < 0
 * ```
 */
export function compareVersions(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A source of versions for one cache instance. `now()` is strictly increasing;
 * `observe(v)` moves it past versions seen elsewhere (bus messages, stamps,
 * consistency tokens), so anything read after observing `v` is newer than `v`.
 *
 * @example
 * ```ts
 * const clock = createVersionClock();
 * clock.observe(token);
 * const v = clock.now(); // > token
 * ```
 */
export interface VersionClock {
  /** A version newer than every version returned or observed before. */
  now(): string;
  /** Advances the clock past `version` if it is ahead. */
  observe(version: string): void;
}

/**
 * A hybrid logical clock: microsecond-scaled wall clock plus a counter.
 * Versions from different hosts compare by wall time, so clock skew between
 * hosts bounds how wrong a concurrent read/invalidation order can be (see
 * docs/authorization-cache.md); a database-backed clock removes that limit.
 *
 * @example
 * ```ts
 * const cache = createAuthorizationCache({ ..., clock: createVersionClock() });
 * ```
 */
export function createVersionClock(wallClock: () => number = Date.now): VersionClock {
  return new HybridVersionClock(wallClock);
}

class HybridVersionClock implements VersionClock {
  private last = 0;
  constructor(private readonly wallClock: () => number) {}

  now(): string {
    const candidate = this.wallClock() * 1000;
    this.last = candidate > this.last ? candidate : this.last + 1;
    return String(this.last);
  }

  observe(version: string): void {
    // Versions beyond 2^53 (a foreign source) cannot be tracked as a number; they only compare.
    const n = Number(version);
    if (Number.isSafeInteger(n) && n > this.last) this.last = n;
  }
}
