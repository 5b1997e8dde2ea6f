import { compose, createBulkhead, createCircuitBreaker, createTimeout, withDeadline, withTimeout } from '../src/index.js';
const resolved = async (): Promise<number> => 1;
await withDeadline(1_000, resolved);
const breaker = createCircuitBreaker(resolved, { name: 'bench-fire', timeoutMs: 1_000 });
const policyBreaker = createCircuitBreaker({ name: 'bench-compose', timeoutMs: Infinity });
const bulkhead = createBulkhead({ concurrency: 1_000, queue: 1_000, name: 'bench' });
const composed = compose(bulkhead, policyBreaker, createTimeout({ ms: 1_000, operation: 'bench' }));
const tasks: Record<string, () => Promise<unknown>> = {
  bare: () => resolved(),
  timeout: () => withTimeout(resolved, { ms: 1_000 }),
  deadline: () => withDeadline(1_000, resolved),
  fire: () => breaker.fire(),
  execute: () => policyBreaker.execute(resolved),
  bulkhead: () => bulkhead.execute(resolved),
  compose: () => composed.execute(resolved),
};
const only = process.argv[2];
const N = Number(process.argv[3] ?? 300_000);
const best = new Map<string, number>();
for (let r = 0; r < 7; r++) {
  for (const [name, fn] of Object.entries(tasks)) {
    if (only && only !== 'all' && name !== only && name !== 'bare') continue;
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await fn();
    const ns = Number(process.hrtime.bigint() - t) / N;
    if (r > 0) best.set(name, Math.min(best.get(name) ?? Infinity, ns));
  }
}
const bare = best.get('bare') ?? 0;
for (const [name, ns] of best) console.log(name.padEnd(10), ns.toFixed(0).padStart(6), 'ns  added', (ns - bare).toFixed(0).padStart(6));
breaker.dispose(); policyBreaker.dispose();
