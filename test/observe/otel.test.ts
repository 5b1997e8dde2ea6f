import { SpanStatusCode } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { channels, publish, traceCall, tracing } from '../../src/observe/channels.js';
import { METRICS } from '../../src/observe/metric-catalog.js';
import { registerOpenTelemetry, type OpenTelemetryInstrumentation } from '../../src/observe/otel.js';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLXNpZw';

function metricsSetup() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const collect = async (): Promise<Map<string, Array<{ attributes: Record<string, unknown>; value: unknown }>>> => {
    await reader.forceFlush();
    const batches: ResourceMetrics[] = exporter.getMetrics();
    const last = batches[batches.length - 1];
    const out = new Map<string, Array<{ attributes: Record<string, unknown>; value: unknown }>>();
    for (const scope of last?.scopeMetrics ?? []) {
      for (const metric of scope.metrics) {
        out.set(
          metric.descriptor.name,
          metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
        );
      }
    }
    return out;
  };
  return { meterProvider, collect, shutdown: () => meterProvider.shutdown() };
}

let otel: OpenTelemetryInstrumentation | undefined;
afterEach(() => {
  otel?.dispose();
  otel = undefined;
});

describe('registerOpenTelemetry metrics', () => {
  it('an in-memory metric reader sees the expected instruments and values', async () => {
    const { meterProvider, collect, shutdown } = metricsSetup();
    otel = registerOpenTelemetry({ meterProvider, spans: false });
    publish(channels.cacheHit, { layer: 'memory' });
    publish(channels.cacheHit, { layer: 'memory' });
    publish(channels.cacheMiss, { layer: 'memory' });
    publish(channels.breakerState, { name: 'postgres', from: 'closed', to: 'open' });
    publish(channels.bulkheadQueue, { name: 'db', active: 3, queued: 1 });
    publish(channels.tokenCacheMiss, {});
    publish(channels.monitorOperation, { operation: 'authorization', durationMs: 20 });
    await traceCall(tracing.jwks, { operation: 'fetch' }, async () => 'keys');

    const seen = await collect();
    // Every catalogue instrument that received data is there under its OTel name.
    expect(seen.get('supaguard.cache.hits')).toEqual([{ attributes: { layer: 'memory' }, value: 2 }]);
    expect(seen.get('supaguard.cache.misses')).toEqual([{ attributes: { layer: 'memory' }, value: 1 }]);
    expect(seen.get('supaguard.cache.hit_ratio')).toEqual([{ attributes: { layer: 'memory' }, value: 2 / 3 }]);
    expect(seen.get('supaguard.breaker.transitions')).toEqual([{ attributes: { name: 'postgres', from: 'closed', to: 'open' }, value: 1 }]);
    expect(seen.get('supaguard.breaker.state')).toContainEqual({ attributes: { name: 'postgres', state: 'open' }, value: 1 });
    expect(seen.get('supaguard.bulkhead.queue_depth')).toEqual([{ attributes: { name: 'db' }, value: 1 }]);
    expect(seen.get('supaguard.token_cache.misses')).toEqual([{ attributes: {}, value: 1 }]);
    expect(seen.get('supaguard.jwks.fetches')).toEqual([{ attributes: {}, value: 1 }]);
    const histogram = seen.get('supaguard.operation.duration')?.[0];
    expect(histogram?.attributes).toEqual({ operation: 'authorization' });
    expect(histogram?.value).toMatchObject({ count: 1, sum: 0.02 });
    for (const name of seen.keys()) {
      expect(Object.values(METRICS).some((m) => `supaguard.${m.otelName}` === name), name).toBe(true);
    }
    otel.dispose();
    otel = undefined;
    expect(channels.cacheHit.hasSubscribers).toBe(false);
    await shutdown();
  });
});

describe('registerOpenTelemetry spans', () => {
  it('wraps loader, Redis, JWKS and query calls in spans, marks failures, never records a token', async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    otel = registerOpenTelemetry({ tracerProvider, metrics: false });

    await traceCall(tracing.loader, { operation: 'authorization' }, async () => 'row');
    await traceCall(tracing.redis, { operation: 'mget' }, async () => []);
    await traceCall(tracing.query, { operation: 'profiles' }, async () => []);
    await expect(traceCall(tracing.jwks, { operation: 'fetch' }, () => Promise.reject(new Error(`refused for ${JWT}`)))).rejects.toThrow();

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['loader authorization', 'redis mget', 'query profiles', 'jwks fetch']);
    expect(spans[1]?.attributes).toMatchObject({ 'supaguard.call': 'redis', 'db.system': 'redis', 'db.operation.name': 'mget' });
    expect(spans[0]?.status.code).toBe(SpanStatusCode.UNSET);
    expect(spans[3]?.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans[3]?.events[0]?.name).toBe('exception');
    expect(JSON.stringify(spans.map((s) => ({ status: s.status, events: s.events, attributes: s.attributes })))).not.toContain(JWT);
    await tracerProvider.shutdown();
  });
});
