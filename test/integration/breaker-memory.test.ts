import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// A fresh process with --expose-gc, on the built package (`npm test` builds first),
// so the heap figures are not mixed with the test runner's own allocations.
const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

const script = `
import { createCircuitBreaker } from './dist/index.js';
const heap = () => { for (let i = 0; i < 4; i++) gc(); return process.memoryUsage().heapUsed; };
const fn = async () => 1;
async function held(count, calls) {
  const before = heap();
  const breakers = Array.from({ length: count }, (_, i) => createCircuitBreaker(fn, { name: 'mem-' + i, timeoutMs: Infinity }));
  for (const b of breakers) for (let c = 0; c < calls; c++) await b.fire();
  const bytes = heap() - before;
  for (const b of breakers) b.dispose();
  breakers.length = 0;
  return { bytes, afterDispose: heap() - before };
}
await held(50, 50); // warm-up: code and shared structures
const few = await held(200, 10);
const many = await held(200, 2000);
console.log(JSON.stringify({ few, many }));
`;

describe('circuit breaker memory', () => {
  it('stays bounded: the heap a breaker holds does not grow with the number of calls, and dispose() releases it', async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { cwd: root, timeout: 60_000 });
    const { few, many } = JSON.parse(stdout) as Record<'few' | 'many', { bytes: number; afterDispose: number }>;
    const perBreakerFew = few.bytes / 200;
    const perBreakerMany = many.bytes / 200;
    // Measured ≈ 9.5 KB per breaker on Node 20 (docs/resilience.md). opossum alone keeps
    // every latency of its window: 2,000 calls would add ≥ 16 KB per breaker.
    expect(perBreakerFew).toBeLessThan(32 * 1024);
    expect(perBreakerMany - perBreakerFew).toBeLessThan(4 * 1024);
    expect(many.afterDispose / 200).toBeLessThan(2 * 1024);
  });
});
