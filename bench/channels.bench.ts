/**
 * Cost of publishing a supaguard event: with nobody subscribed (the default; target
 * "about nothing") and with supaguard/prometheus and supaguard/otel both listening.
 */
import dc from 'node:diagnostics_channel';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { channels, publish, type CacheLayerEvent, type TypedChannel } from '../src/index.js';
import { registerOpenTelemetry } from '../src/otel.js';
import { registerPrometheusMetrics } from '../src/prometheus.js';
import { defineScenario, runIfMain } from './lib/harness.js';

const BATCH = 1_000;
const event = { layer: 'memory' };

const scenario = defineScenario('channels', (ctx) => {
  let sink = 0;
  ctx.add('baseline: empty call', () => void (sink += 1), { batch: BATCH });
  // The exporters subscribe to every supaguard channel, so the unsubscribed case uses a channel of its own.
  const quiet = dc.channel('supaguard:bench:unsubscribed') as unknown as TypedChannel<CacheLayerEvent>;
  ctx.add('publish, no subscriber', () => publish(quiet, event), { batch: BATCH });
  ctx.add('publish cache hit, prometheus + otel subscribed', () => publish(channels.cacheHit, event), { batch: BATCH });
  ctx.compare('publish, no subscriber', 'baseline: empty call', 'publish without subscribers ≈ free');

  const prom = registerPrometheusMetrics({ registry: new Registry() });
  const otel = registerOpenTelemetry({ meterProvider: new MeterProvider(), spans: false });
  ctx.cleanup(() => {
    ctx.note('sink', sink > 0 ? 'ok' : 'none');
    prom.dispose();
    otel.dispose();
  });
});

export default scenario;
await runIfMain(scenario, import.meta.url);
