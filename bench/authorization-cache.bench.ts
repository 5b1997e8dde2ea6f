/**
 * AuthorizationCache against its peers on the same `authz:<uuid>:<uuid>` keys:
 * L1 hit check() vs bentocache getOrSet (memory) and cache-manager get; peek vs
 * lru-cache get; L2 hit vs raw ioredis GET and bentocache with a Redis L2;
 * 1,000 concurrent L2 hits vs bentocache; and a Zipf (s = 1.0) workload
 * (100,000 users × 1,000 resources, L1 max 50,000) reporting the hit ratios of
 * an LRU L1 and of one with TinyLFU admission on the same request sequence.
 * Needs Redis at REDIS_URL (default redis://127.0.0.1:6379). BENCH_ONLY=zipf
 * runs only the Zipf workload (no Redis); BENCH_SKIP_ZIPF=1 skips it.
 */
import { randomUUID } from 'node:crypto';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { createCache } from 'cache-manager';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { createAuthorizationCache, memoryLayer, type AuthorizationRequest, type Decision } from '../src/index.js';
import { redisLayer } from '../src/redis.js';
import { defineScenario, runIfMain } from './lib/harness.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEYS = 1_000;
const BATCH = 1_000;
const DECISION: Decision = { allowed: true, reason: 'member' };
const loader = async (rs: readonly AuthorizationRequest[]): Promise<Decision[]> => rs.map(() => DECISION);

/** Inverse-CDF sampler of a Zipf(s) distribution over ranks 0..n-1. */
function zipfSampler(n: number, s: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) cdf[k - 1] = sum += 1 / k ** s;
  for (let k = 0; k < n; k++) cdf[k] = (cdf[k] as number) / sum;
  return () => {
    const u = Math.random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * The best hit ratio any cache of `capacity` entries can reach on independent Zipf(1) users × resources:
 * the probability mass of the `capacity` most popular pairs (those with rank product i·j ≤ T).
 */
function oracleHitRatio(users: number, resources: number, capacity: number): number {
  const harmonic = (n: number): number => {
    let h = 0;
    for (let k = 1; k <= n; k++) h += 1 / k;
    return h;
  };
  const pairsUpTo = (t: number): number => {
    let count = 0;
    for (let i = 1; i <= Math.min(users, t); i++) count += Math.min(resources, Math.floor(t / i));
    return count;
  };
  let lo = 1;
  let hi = users * resources;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (pairsUpTo(mid) >= capacity) hi = mid;
    else lo = mid + 1;
  }
  let mass = 0;
  for (let i = 1; i <= Math.min(users, lo); i++) mass += harmonic(Math.min(resources, Math.floor(lo / i))) / i;
  return mass / (harmonic(users) * harmonic(resources));
}

/** L1 hit ratio of a memory-only cache replaying `sequence` (pairs of user and resource indexes), measured after `warm` requests. */
async function replay(layer: ReturnType<typeof memoryLayer<Decision>>, users: readonly string[], resources: readonly string[], sequence: Int32Array, warm: number): Promise<number> {
  const cache = createAuthorizationCache({ layers: [layer], loader, ttlMs: 3_600_000 });
  const request = (i: number): AuthorizationRequest => ({ userId: users[sequence[2 * i] as number] as string, resourceId: resources[sequence[2 * i + 1] as number] as string, action: 'read' });
  const total = sequence.length / 2;
  for (let i = 0; i < warm; i++) await cache.check(request(i));
  const before = cache.stats().hits;
  for (let i = warm; i < total; i++) await cache.check(request(i));
  const hits = cache.stats().hits - before;
  await cache.close();
  return hits / (total - warm);
}

/** Replays one Zipf request sequence through an LRU L1 and a TinyLFU-admission L1 and reports their hit ratios after warm-up. */
async function zipfWorkload(note: (k: string, v: number | string) => void): Promise<void> {
  const users = Array.from({ length: 100_000 }, () => randomUUID());
  const resources = Array.from({ length: 1_000 }, () => randomUUID());
  const pickUser = zipfSampler(users.length, 1.0);
  const pickResource = zipfSampler(resources.length, 1.0);
  const WARM = 500_000;
  const MEASURE = 500_000;
  const sequence = new Int32Array(2 * (WARM + MEASURE));
  for (let i = 0; i < WARM + MEASURE; i++) {
    sequence[2 * i] = pickUser();
    sequence[2 * i + 1] = pickResource();
  }
  const seen = new Set<number>();
  let firstTouch = 0;
  for (let i = 0; i < WARM + MEASURE; i++) {
    const pair = (sequence[2 * i] as number) * resources.length + (sequence[2 * i + 1] as number);
    if (seen.has(pair)) continue;
    seen.add(pair);
    if (i >= WARM) firstTouch++;
  }
  const percent = (ratio: number): string => `${(ratio * 100).toFixed(2)} %`;
  const lru = await replay(memoryLayer<Decision>({ max: 50_000 }), users, resources, sequence, WARM);
  const tinylfu = await replay(memoryLayer<Decision>({ max: 50_000, admission: 'tinylfu' }), users, resources, sequence, WARM);
  note('zipf s=1.0 (100k users × 1k resources, independent) L1 max 50k: L1 hit ratio after 500k warm-up', percent(lru));
  note("zipf: L1 hit ratio with admission: 'tinylfu' (same request sequence)", percent(tinylfu));
  note('zipf: hit ratio with an L2 that keeps every key (1 − first touches / requests)', percent(1 - firstTouch / MEASURE));
  note('zipf: upper bound for any 50k-entry cache (mass of the 50k most popular pairs)', percent(oracleHitRatio(100_000, 1_000, 50_000)));
}

const scenario = defineScenario('authorization-cache', async (ctx) => {
  if (process.env.BENCH_ONLY === 'zipf') return zipfWorkload((k, v) => ctx.note(k, v));
  const requests = Array.from({ length: KEYS }, () => ({ userId: randomUUID(), resourceId: randomUUID(), action: 'read' }));
  const keys = requests.map((r) => `authz:${r.userId}:${r.resourceId}`);
  let i = 0;
  const nextIndex = (): number => (i = (i + 1) % KEYS);

  // --- L1 (memory) ---
  const l1 = createAuthorizationCache({ layers: [memoryLayer<Decision>({ max: 10_000 })], loader, ttlMs: 3_600_000 });
  await l1.checkMany(requests);
  const bentoMemory = new BentoCache({ default: 'm', stores: { m: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) } });
  for (const key of keys) await bentoMemory.getOrSet({ key, factory: () => DECISION, ttl: '1h' });
  const cacheManager = createCache({ ttl: 3_600_000 });
  for (const key of keys) await cacheManager.set(key, DECISION);
  const lru = new LRUCache<string, Decision>({ max: 10_000 });
  for (const key of keys) lru.set(key, DECISION);

  ctx.add('supaguard check() L1 hit', () => l1.check(requests[nextIndex()] as AuthorizationRequest), { batch: BATCH });
  ctx.add('bentocache getOrSet (memory) hit', () => bentoMemory.getOrSet({ key: keys[nextIndex()] as string, factory: () => DECISION, ttl: '1h' }), { batch: BATCH });
  ctx.add('cache-manager 7 get hit', () => cacheManager.get(keys[nextIndex()] as string), { batch: BATCH });
  ctx.add('supaguard peek() L1 hit', () => l1.peek(requests[nextIndex()] as AuthorizationRequest), { batch: BATCH });
  ctx.add('lru-cache get', () => lru.get(keys[nextIndex()] as string), { batch: BATCH });
  ctx.compare('supaguard check() L1 hit', 'bentocache getOrSet (memory) hit', '≥ 15× faster');
  ctx.compare('supaguard check() L1 hit', 'cache-manager 7 get hit', '≥ 3× faster');
  ctx.compare('supaguard peek() L1 hit', 'lru-cache get', 'peek ≤ 2× lru-cache get (ratio ≥ 0.5)');

  // --- L2 (Redis) ---
  const redis = new Redis(REDIS_URL);
  const bentoRedis = new Redis(REDIS_URL);
  await redis.ping();
  const prefix = `sg-bench:${randomUUID()}:`;
  const l2 = createAuthorizationCache({ layers: [redisLayer<Decision>({ client: redis, prefix, timeoutMs: 1_000 })], loader, ttlMs: 3_600_000 });
  await l2.checkMany(requests);
  for (const [k, key] of keys.entries()) await redis.set(`${prefix}raw:${key}`, JSON.stringify(DECISION), 'PX', 3_600_000).then(() => k);
  const bentoL2 = new BentoCache({ default: 'r', prefix: `${prefix}bento`, stores: { r: bentostore().useL2Layer(redisDriver({ connection: bentoRedis })) } });
  for (const key of keys) await bentoL2.getOrSet({ key, factory: () => DECISION, ttl: '1h' });

  // Interleaved (blocks of 50 requests of each in turn): a round trip's latency drifts with the machine's load over
  // seconds, so measuring these one after another compared different conditions as much as the code.
  const single = { group: 'l2-single' };
  ctx.add('supaguard check() L2 hit (Redis only)', () => l2.check(requests[nextIndex()] as AuthorizationRequest), single);
  ctx.add('raw ioredis GET', () => redis.get(`${prefix}raw:${keys[nextIndex()]}`), single);
  ctx.add('bentocache getOrSet (Redis L2) hit', () => bentoL2.getOrSet({ key: keys[nextIndex()] as string, factory: () => DECISION, ttl: '1h' }), single);
  ctx.compare('supaguard check() L2 hit (Redis only)', 'raw ioredis GET', 'ours ≤ 1.15× raw GET (ratio ≥ 0.87)');
  ctx.compare('supaguard check() L2 hit (Redis only)', 'bentocache getOrSet (Redis L2) hit');

  ctx.add('supaguard 1,000 concurrent L2 hits', () => Promise.all(requests.map((r) => l2.check(r))));
  ctx.add('bentocache 1,000 concurrent L2 hits', () => Promise.all(keys.map((key) => bentoL2.getOrSet({ key, factory: () => DECISION, ttl: '1h' }))));
  ctx.compare('supaguard 1,000 concurrent L2 hits', 'bentocache 1,000 concurrent L2 hits', '≥ 2× throughput');

  if (process.env.BENCH_SKIP_ZIPF !== '1') await zipfWorkload((k, v) => ctx.note(k, v));

  ctx.cleanup(async () => {
    await l1.close();
    await l2.close();
    await bentoMemory.disconnectAll();
    await bentoL2.disconnectAll().catch(() => undefined);
    await redisLayer({ client: redis, prefix }).clear();
    redis.disconnect();
    bentoRedis.disconnect();
  });
});

export default scenario;
await runIfMain(scenario, import.meta.url);
