/**
 * Overhead of PerformanceMonitor.track() (target ≤ 200 ns median) next to the raw
 * HdrHistogram record it wraps, and measure() around an async no-op.
 */
import { createHistogram } from 'node:perf_hooks';
import { createPerformanceMonitor } from '../src/index.js';
import { defineScenario, runIfMain } from './lib/harness.js';

const BATCH = 1_000;

const scenario = defineScenario('monitor', (ctx) => {
  const monitor = createPerformanceMonitor();
  const samples = Float64Array.from({ length: 1024 }, () => Math.random() * 80);
  const raw = createHistogram({ lowest: 1, highest: 3_600_000_000, figures: 2 });
  let i = 0;

  ctx.add('supaguard monitor.track()', () => monitor.track('authorization', samples[i++ & 1023] as number), { batch: BATCH });
  ctx.add('perf_hooks histogram.record() (floor)', () => raw.record(Math.max(1, Math.round((samples[i++ & 1023] as number) * 1000))), { batch: BATCH });
  ctx.add('supaguard monitor.measure(async no-op)', () => monitor.measure('auth', async () => 1), { batch: 100 });
  ctx.compare('supaguard monitor.track()', 'perf_hooks histogram.record() (floor)', 'track() ≤ 200 ns median');
  ctx.cleanup(() => {
    ctx.note('tracked samples in window', monitor.snapshot().operations.authorization?.count ?? 0);
    monitor.close();
  });
});

export default scenario;
await runIfMain(scenario, import.meta.url);
