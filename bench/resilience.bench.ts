/**
 * Overhead of each resilience wrapper around an already-resolved async function,
 * against calling it bare and against cockatiel 3's timeout + circuitBreaker
 * (+ bulkhead) — target: each wrapper ≤ 1 µs added median, the composition ≤ 3 µs
 * and no slower than cockatiel's. Also measures the heap held by 1,000 breakers ×
 * 1,000 calls, next to opossum with its defaults.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  bulkhead as cockatielBulkhead,
  circuitBreaker as cockatielCircuitBreaker,
  ConsecutiveBreaker,
  handleAll,
  timeout as cockatielTimeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import Opossum from 'opossum';
import { compose, createBulkhead, createCircuitBreaker, createTimeout, withDeadline, withTimeout } from '../src/index.js';
import { defineScenario, runIfMain } from './lib/harness.js';

const BATCH = 100;
const resolved = async (): Promise<number> => 1;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

/** Heap held by `count` breakers after `calls` successful calls each (rolling window still full). */
async function breakerHeap(count: number, calls: number): Promise<{ held: number; afterDispose: number }> {
  const before = heapUsed();
  const breakers = Array.from({ length: count }, (_, i) => createCircuitBreaker(resolved, { name: `mem-${i}` }));
  for (const b of breakers) for (let c = 0; c < calls; c++) await b.fire();
  const held = heapUsed() - before;
  for (const b of breakers) b.dispose();
  breakers.length = 0;
  return { held, afterDispose: heapUsed() - before };
}

/** The same with opossum's defaults (snapshot + bucket interval per breaker, every latency kept). */
async function opossumHeap(count: number, calls: number): Promise<{ held: number; afterShutdown: number }> {
  const before = heapUsed();
  const breakers = Array.from({ length: count }, (_, i) => new Opossum(resolved, { name: `op-${i}`, timeout: false }));
  for (const b of breakers) for (let c = 0; c < calls; c++) await b.fire();
  const held = heapUsed() - before;
  for (const b of breakers) b.shutdown();
  breakers.length = 0;
  return { held, afterShutdown: heapUsed() - before };
}

const scenario = defineScenario('resilience', async (ctx) => {
  const ours = await breakerHeap(1_000, 1_000);
  ctx.note('supaguard: heap held by 1,000 breakers × 1,000 calls', mib(ours.held));
  ctx.note('supaguard: per breaker', `${Math.round(ours.held / 1_000).toLocaleString('en-US')} B`);
  ctx.note('supaguard: heap left after dispose()', mib(ours.afterDispose));
  ctx.note('supaguard: timers for 1,000 breakers', '1 shared interval');
  const theirs = await opossumHeap(1_000, 1_000);
  ctx.note('opossum defaults: heap held by 1,000 breakers × 1,000 calls', mib(theirs.held));
  ctx.note('opossum defaults: heap left after shutdown()', mib(theirs.afterShutdown));
  ctx.note('opossum defaults: timers for 1,000 breakers', '2,000 intervals');

  const breaker = createCircuitBreaker(resolved, { name: 'bench-fire', timeoutMs: 1_000 });
  const policyBreaker = createCircuitBreaker({ name: 'bench-compose', timeoutMs: Infinity });
  const bulkhead = createBulkhead({ concurrency: 1_000, queue: 1_000, name: 'bench' });
  const timeoutPolicy = createTimeout({ ms: 1_000, operation: 'bench' });
  const composed = compose(bulkhead, policyBreaker, timeoutPolicy);
  const breakerAndTimeout = compose(policyBreaker, timeoutPolicy);

  const cTimeout = cockatielTimeout(1_000, TimeoutStrategy.Cooperative);
  const cBreaker = cockatielCircuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
  const cBulkhead = cockatielBulkhead(1_000, 1_000);
  const cBreakerTimeout = wrap(cBreaker, cTimeout);
  const cAll = wrap(cBulkhead, cBreaker, cTimeout);

  ctx.add('bare await fn()', () => resolved(), { batch: BATCH });
  ctx.add('supaguard withTimeout', () => withTimeout(resolved, { ms: 1_000 }), { batch: BATCH });
  ctx.add('supaguard withDeadline', () => withDeadline(1_000, resolved), { batch: BATCH });
  ctx.add('supaguard breaker.fire (closed, 1 s timeout)', () => breaker.fire(), { batch: BATCH });
  ctx.add('supaguard breaker.execute (closed, no own timeout)', () => policyBreaker.execute(resolved), { batch: BATCH });
  ctx.add('supaguard bulkhead slot', () => bulkhead.execute(resolved), { batch: BATCH });
  ctx.add('supaguard compose(breaker, timeout)', () => breakerAndTimeout.execute(resolved), { batch: BATCH });
  ctx.add('supaguard compose(bulkhead, breaker, timeout)', () => composed.execute(resolved), { batch: BATCH });
  ctx.add('cockatiel timeout', () => cTimeout.execute(resolved), { batch: BATCH });
  ctx.add('cockatiel circuitBreaker', () => cBreaker.execute(resolved), { batch: BATCH });
  ctx.add('cockatiel bulkhead', () => cBulkhead.execute(resolved), { batch: BATCH });
  ctx.add('cockatiel wrap(circuitBreaker, timeout)', () => cBreakerTimeout.execute(resolved), { batch: BATCH });
  ctx.add('cockatiel wrap(bulkhead, circuitBreaker, timeout)', () => cAll.execute(resolved), { batch: BATCH });

  ctx.compare('supaguard withTimeout', 'cockatiel timeout', '≤ 1 µs added over bare');
  ctx.compare('supaguard breaker.execute (closed, no own timeout)', 'cockatiel circuitBreaker', '≤ 1 µs added over bare');
  ctx.compare('supaguard bulkhead slot', 'cockatiel bulkhead', '≤ 1 µs added over bare');
  ctx.compare('supaguard compose(breaker, timeout)', 'cockatiel wrap(circuitBreaker, timeout)', '≥ 1× (no slower than cockatiel)');
  ctx.compare('supaguard compose(bulkhead, breaker, timeout)', 'cockatiel wrap(bulkhead, circuitBreaker, timeout)', '≤ 3 µs added, ≥ 1×');
  ctx.compare('supaguard withDeadline', 'bare await fn()', '≤ 1 µs added');

  ctx.cleanup(() => {
    breaker.dispose();
    policyBreaker.dispose();
  });
});

export default scenario;
await runIfMain(scenario, import.meta.url);
