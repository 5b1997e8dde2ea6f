import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// Runs against the built package (`npm test` builds first).
const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

describe('supaguard/prometheus and supaguard/otel builds', () => {
  it('events published through the CJS core reach the ESM Prometheus exporter (one channel registry)', async () => {
    const script = `
      import { createRequire } from 'node:module';
      import { Registry } from 'prom-client';
      import { registerPrometheusMetrics } from '${root}dist/prometheus.js';
      import { registerOpenTelemetry } from '${root}dist/otel.js';
      const require = createRequire(import.meta.url);
      const core = require('${root}dist/index.cjs');
      const registry = new Registry();
      registerPrometheusMetrics({ registry });
      if (typeof registerOpenTelemetry !== 'function') throw new Error('otel entry');
      if (typeof require('${root}dist/otel.cjs').registerOpenTelemetry !== 'function') throw new Error('otel cjs');
      if (typeof require('${root}dist/prometheus.cjs').registerPrometheusMetrics !== 'function') throw new Error('prom cjs');
      core.publish(core.channels.cacheHit, { layer: 'memory' });
      console.log((await registry.metrics()).split('\\n').find((l) => l.startsWith('supaguard_cache_hits_total{')));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    expect(stdout.trim()).toBe('supaguard_cache_hits_total{layer="memory"} 1');
  });
});
