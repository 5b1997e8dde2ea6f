import { ConfigurationError } from '../errors.js';

/**
 * Counters per entry of capacity (4 bits each, 8 to a 32-bit word): 8 bytes of table per entry, as Caffeine.
 * Zipf bench L1 hit ratios (50k entries, plain count-min update): 8 per entry 45.0 %, 16 46.4 %, 32 47.2 %;
 * the conservative update below adds about 0.2 points (16 per entry: 46.5–46.6 %).
 */
const COUNTERS_PER_ENTRY = 16;
/** Recorded events between two agings, per entry of capacity (TinyLFU's sample size W = 10 × capacity). */
const SAMPLE_FACTOR = 10;
/** Each key's count lives in this many counters; its estimate is the least of them (count-min). */
const DEPTH = 4;
/** Largest value of a 4-bit counter. */
const MAX_COUNT = 15;
/** Each nibble of a word with its top bit cleared: what is left of a word shifted right by one when aging. */
const HALVING_MASK = 0x77777777;

/**
 * A TinyLFU frequency sketch: a count-min sketch of 4-bit counters estimating how often each key was seen
 * recently. Each key has 4 counters; its estimate is the least of them, and an
 * {@link FrequencySketch.increment} raises only those at that least value (conservative update: collisions
 * inflate fewer counters), saturating at 15. Once 10 × `capacity` increments were recorded, every counter is
 * halved ("aging"), so old popularity fades and the estimates follow the workload. Estimates never under-count
 * between two agings; hash collisions only over-count. Memory is fixed at construction: 8 bytes per entry of
 * `capacity` (rounded up to a power of two).
 *
 * Keys are hashed once with {@link FrequencySketch.hash} (seeded at random per sketch, so which keys collide
 * differs between processes); the other methods take that hash, so a caller can keep it with the entry and
 * never hash twice.
 *
 * @example
 * ```ts
 * const sketch = new FrequencySketch(50_000);
 * const h = sketch.hash('authz:…');
 * sketch.increment(h);
 * sketch.frequency(h); // 1 (or more, after collisions)
 * ```
 */
export class FrequencySketch {
  /** Number of 32-bit words in the table. */
  readonly words: number;
  /** Increments between two agings. */
  readonly sampleSize: number;
  private readonly table: Uint32Array;
  /** Counter index mask (the table holds a power of two of counters). */
  private readonly mask: number;
  private readonly seed: number;
  /** Increments (of keys not yet at 15) since the last aging, itself halved by each aging. */
  private additions = 0;

  /**
   * @param capacity - Entries the owning cache holds; sizes the table and the aging period.
   * @param seed - Hash seed; random by default.
   * @throws {@link ConfigurationError} when `capacity` is not an integer >= 1.
   */
  constructor(capacity: number, seed: number = (Math.random() * 0x1_0000_0000) >>> 0) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new ConfigurationError('capacity', 'must be an integer >= 1');
    // At least 64 counters, at most 2^30 (a 512 MiB table is far beyond any sensible L1).
    const counters = Math.min(2 ** 30, Math.max(64, nextPowerOfTwo(capacity * COUNTERS_PER_ENTRY)));
    this.mask = counters - 1;
    this.words = counters >>> 3;
    this.table = new Uint32Array(this.words);
    this.sampleSize = capacity * SAMPLE_FACTOR;
    this.seed = seed >>> 0;
  }

  /** Bytes of counters held (fixed at construction). */
  get byteLength(): number {
    return this.table.byteLength;
  }

  /** A well-mixed 32-bit hash of `key`, seeded per sketch (FNV-1a over UTF-16 code units, murmur3 finaliser). */
  hash(key: string): number {
    let h = 0x811c9dc5 ^ this.seed; // an int32 from the start, like every later value of h
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** Records one occurrence of the key with hash `hash`; ages the sketch every {@link FrequencySketch.sampleSize} increments. */
  increment(hash: number): void {
    // One pass over the key's DEPTH (4) counters, unrolled: this runs on every read of the layer.
    const table = this.table;
    const mask = this.mask;
    const step = stepOf(hash);
    const i0 = hash & mask;
    const i1 = (hash + step) & mask;
    const i2 = (hash + 2 * step) & mask;
    const i3 = (hash + 3 * step) & mask;
    const c0 = ((table[i0 >>> 3] as number) >>> ((i0 & 7) << 2)) & MAX_COUNT;
    const c1 = ((table[i1 >>> 3] as number) >>> ((i1 & 7) << 2)) & MAX_COUNT;
    const c2 = ((table[i2 >>> 3] as number) >>> ((i2 & 7) << 2)) & MAX_COUNT;
    const c3 = ((table[i3 >>> 3] as number) >>> ((i3 & 7) << 2)) & MAX_COUNT;
    const least = Math.min(c0, c1, c2, c3);
    if (least === MAX_COUNT) return;
    // Conservative update: a counter above the least already counts this key's next occurrence.
    if (c0 === least) table[i0 >>> 3] = (table[i0 >>> 3] as number) + (1 << ((i0 & 7) << 2));
    if (c1 === least) table[i1 >>> 3] = (table[i1 >>> 3] as number) + (1 << ((i1 & 7) << 2));
    if (c2 === least) table[i2 >>> 3] = (table[i2 >>> 3] as number) + (1 << ((i2 & 7) << 2));
    if (c3 === least) table[i3 >>> 3] = (table[i3 >>> 3] as number) + (1 << ((i3 & 7) << 2));
    if (++this.additions >= this.sampleSize) this.age();
  }

  /** The estimated recent occurrences (0–15) of the key with hash `hash`: never fewer than recorded since the last aging. */
  frequency(hash: number): number {
    const table = this.table;
    const step = stepOf(hash);
    let least = MAX_COUNT;
    for (let i = 0; i < DEPTH; i++) {
      const index = (hash + i * step) & this.mask;
      const count = ((table[index >>> 3] as number) >>> ((index & 7) << 2)) & MAX_COUNT;
      if (count < least) least = count;
    }
    return least;
  }

  /** Halves every counter (TinyLFU's reset): popularity decays, so yesterday's hot keys make room. */
  age(): void {
    const table = this.table;
    for (let i = 0; i < table.length; i++) table[i] = ((table[i] as number) >>> 1) & HALVING_MASK;
    this.additions >>>= 1;
  }

  /** Forgets every count. */
  clear(): void {
    this.table.fill(0);
    this.additions = 0;
  }
}

/** The stride between a key's counters: odd, so over a power-of-two table (64 counters or more) its 4 counters are distinct (double hashing). */
function stepOf(hash: number): number {
  return Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) | 1;
}

/** The smallest power of two >= n (n >= 1). */
function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
