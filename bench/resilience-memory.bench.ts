/**
 * Heap held by 1,000 circuit breakers after 1,000 calls each (their rolling
 * windows still full), next to opossum with its defaults, and what is left after
 * dispose(). Run alone: `npx tsx bench/resilience-memory.bench.ts`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Opossum from 'opossum';
import { createCircuitBreaker, listCircuitBreakers } from '../src/index.js';
import { defineScenario, runIfMain } from './lib/harness.js';

const BREAKERS = 1_000;
const CALLS = 1_000;
const resolved = async (): Promise<number> => 1;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
const perBreaker = (bytes: number): string => `${Math.round(bytes / BREAKERS).toLocaleString('en-US')} B`;

interface Subject {
  fire(): Promise<unknown>;
  release(): void;
}

async function measure(create: (i: number) => Subject): Promise<{ empty: number; held: number; released: number; ms: number }> {
  const before = heapUsed();
  const subjects = Array.from({ length: BREAKERS }, (_, i) => create(i));
  const empty = heapUsed() - before;
  const started = performance.now();
  for (const s of subjects) for (let c = 0; c < CALLS; c++) await s.fire();
  const ms = performance.now() - started;
  const held = heapUsed() - before;
  for (const s of subjects) s.release();
  subjects.length = 0;
  return { empty, held, released: heapUsed() - before, ms };
}

const scenario = defineScenario('resilience-memory', async (ctx) => {
  await measure((i) => {
    const b = createCircuitBreaker(resolved, { name: `warm-${i}` });
    return { fire: () => b.fire(), release: () => b.dispose() };
  }); // warm-up
  const ours = await measure((i) => {
    const b = createCircuitBreaker(resolved, { name: `mem-${i}` });
    return { fire: () => b.fire(), release: () => b.dispose() };
  });
  ctx.note(`supaguard: ${BREAKERS} breakers, no calls`, `${mib(ours.empty)} (${perBreaker(ours.empty)} each)`);
  ctx.note(`supaguard: ${BREAKERS} breakers × ${CALLS} calls`, `${mib(ours.held)} (${perBreaker(ours.held)} each)`);
  ctx.note('supaguard: left after dispose()', mib(ours.released));
  ctx.note('supaguard: timers', '1 shared interval for all breakers');
  ctx.note('supaguard: time for the calls', `${Math.round(ours.ms)} ms`);

  const theirs = await measure((i) => {
    const b = new Opossum(resolved, { name: `op-${i}`, timeout: false });
    return { fire: () => b.fire(), release: () => b.shutdown() };
  });
  ctx.note(`opossum defaults: ${BREAKERS} breakers, no calls`, `${mib(theirs.empty)} (${perBreaker(theirs.empty)} each)`);
  ctx.note(`opossum defaults: ${BREAKERS} breakers × ${CALLS} calls`, `${mib(theirs.held)} (${perBreaker(theirs.held)} each)`);
  ctx.note('opossum defaults: left after shutdown()', mib(theirs.released));
  ctx.note('opossum defaults: timers', `${2 * BREAKERS} intervals (bucket + snapshot per breaker)`);

  const probe = createCircuitBreaker(resolved, { name: 'stats-probe' });
  await probe.fire();
  ctx.add('breaker.stats()', () => probe.stats());
  ctx.add('listCircuitBreakers()', () => listCircuitBreakers());
  ctx.cleanup(() => probe.dispose());
}, { time: 200, warmupTime: 50 });

export default scenario;
await runIfMain(scenario, import.meta.url);
