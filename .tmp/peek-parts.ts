import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { createAuthorizationCache, memoryLayer, type AuthorizationRequest, type Decision } from '../src/index.js';
import { AuthorizationKeys } from '../src/cache/authorization-keys.js';
const KEYS = 1000;
const DECISION: Decision = { allowed: true };
const requests = Array.from({ length: KEYS }, () => ({ userId: randomUUID(), resourceId: randomUUID(), action: 'read' }));
const keys = requests.map((r) => `authz:{${r.userId}}:${r.resourceId}:read`);
const c = createAuthorizationCache({ layers: [memoryLayer<Decision>({ max: 10_000 })], loader: async (rs) => rs.map(() => DECISION), ttlMs: 3_600_000 });
await c.checkMany(requests);
const lru = new LRUCache<string, Decision>({ max: 10_000 });
for (const k of keys) lru.set(k, DECISION);
const ak = new AuthorizationKeys();
for (const r of requests) ak.keyOf(r);
const ml = memoryLayer<Decision>({ max: 10_000 });
for (const k of keys) await ml.set(k, { value: DECISION, createdAt: 0, expiresAt: Date.now() + 3.6e6, staleUntil: Date.now() + 3.6e6, version: '1', tags: [] } as any, 3.6e6);
const ckeys = requests.map((r) => c.keyOf(r));
const engine = (c as any).engine;
const mk = (c as any).itemForKey;
let i = 0;
const tasks: Record<string, () => unknown> = {
  lru: () => lru.get(keys[(i = (i + 1) % KEYS)]!),
  keysLookup: () => ak.keyOf(requests[(i = (i + 1) % KEYS)]!),
  memoryPeek: () => ml.peek!(keys[(i = (i + 1) % KEYS)]!),
  localHit: () => engine.localHit(ckeys[(i = (i + 1) % KEYS)]!, requests[i], mk),
  peek: () => c.peek(requests[(i = (i + 1) % KEYS)]!),
};
let sink: unknown;
for (let round = 0; round < 5; round++) {
  const out: string[] = [];
  for (const [name, fn] of Object.entries(tasks)) {
    const N = 2_000_000;
    const t = process.hrtime.bigint();
    for (let k = 0; k < N; k++) sink = fn();
    out.push(`${name} ${(Number(process.hrtime.bigint() - t) / N).toFixed(1)}`);
  }
  console.log(out.join(' | '));
}
