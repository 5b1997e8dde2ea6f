/**
 * Overhead of each resilience wrapper around an already-resolved async function,
 * against calling it bare and against cockatiel 3's timeout + circuitBreaker
 * (+ bulkhead) — target: each wrapper ≤ 1 µs added median, the composition ≤ 3 µs
 * and no slower than cockatiel's. Memory: bench/resilience-memory.bench.ts.
 */
import {
  bulkhead as cockatielBulkhead,
  circuitBreaker as cockatielCircuitBreaker,
  ConsecutiveBreaker,
  handleAll,
  timeout as cockatielTimeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import pTimeout from 'p-timeout';
import { compose, createBulkhead, createCircuitBreaker, createTimeout, withDeadline, withTimeout } from '../src/index.js';
import { defineScenario, runIfMain } from './lib/harness.js';

const BATCH = 100;
const CPU_OPS = 5_000;
const CPU_ROUNDS = 7;
const resolved = async (): Promise<number> => 1;
// p-timeout with timers that do nothing, and (as supaguard called it) no stack capture: the
// cost of p-timeout itself (a Promise, an async IIFE, .finally, a TimeoutError per call),
// which withTimeout was built on until it had to fit in 1 µs.
const noTimers = { setTimeout: () => 0, clearTimeout: () => undefined } as unknown as { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };
// The same function declaring the signal parameter: supaguard must then create a child signal.
const resolvedReadingSignal = async (_signal: AbortSignal): Promise<number> => 1;

const scenario = defineScenario('resilience', async (ctx) => {
  // Every supaguard user with a request deadline has AsyncLocalStorage active, which on
  // Node 20 turns on promise hooks for every await in the process. Enable it before any
  // task so the bare call, supaguard and cockatiel are all measured in that regime.
  await withDeadline(1_000, resolved);

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

  const tasks: Record<string, () => Promise<unknown>> = {
    'bare await fn()': () => resolved(),
    'new AbortController().signal (floor of any child signal)': async () => new AbortController().signal,
    'supaguard withTimeout': () => withTimeout(resolved, { ms: 1_000 }),
    'supaguard withTimeout, fn declares its signal': () => withTimeout(resolvedReadingSignal, { ms: 1_000 }),
    'p-timeout alone (no-op timers)': () => {
      // As supaguard used it: no stack captured for the TimeoutError p-timeout builds per call.
      const stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        return pTimeout(resolved(), { milliseconds: 1_000, customTimers: noTimers });
      } finally {
        Error.stackTraceLimit = stackTraceLimit;
      }
    },
    'supaguard withDeadline': () => withDeadline(1_000, resolved),
    'supaguard breaker.fire (closed, 1 s timeout)': () => breaker.fire(),
    'supaguard breaker.execute (closed, no own timeout)': () => policyBreaker.execute(resolved),
    'supaguard bulkhead slot': () => bulkhead.execute(resolved),
    'supaguard compose(breaker, timeout)': () => breakerAndTimeout.execute(resolved),
    'supaguard compose(bulkhead, breaker, timeout)': () => composed.execute(resolved),
    'cockatiel timeout': () => cTimeout.execute(resolved),
    'cockatiel circuitBreaker': () => cBreaker.execute(resolved),
    'cockatiel bulkhead': () => cBulkhead.execute(resolved),
    'cockatiel wrap(circuitBreaker, timeout)': () => cBreakerTimeout.execute(resolved),
    'cockatiel wrap(bulkhead, circuitBreaker, timeout)': () => cAll.execute(resolved),
  };
  // Wall-clock medians swing with the machine's load; CPU time per operation (this
  // process only), measured in interleaved rounds and reduced to the median round, is
  // the steadier figure to compare when the box is shared.
  const rounds = new Map<string, number[]>(Object.keys(tasks).map((name) => [name, []]));
  for (const fn of Object.values(tasks)) for (let i = 0; i < CPU_OPS; i++) await fn();
  for (let round = 0; round < CPU_ROUNDS; round++) {
    for (const [name, fn] of Object.entries(tasks)) {
      const before = process.cpuUsage();
      for (let i = 0; i < CPU_OPS; i++) await fn();
      const used = process.cpuUsage(before);
      rounds.get(name)?.push(((used.user + used.system) * 1_000) / CPU_OPS);
    }
  }
  ctx.note('Node version', process.version);
  for (const [name, samples] of rounds) {
    samples.sort((a, b) => a - b);
    ctx.note(`CPU ns/op: ${name}`, Math.round(samples[Math.floor(samples.length / 2)] ?? 0));
  }
  for (const [name, fn] of Object.entries(tasks)) ctx.add(name, fn, { batch: BATCH });

  ctx.compare('supaguard withTimeout', 'cockatiel timeout', '≤ 1 µs added over bare');
  ctx.compare('supaguard withTimeout, fn declares its signal', 'cockatiel timeout', '≥ 1× (no slower than cockatiel)');
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
