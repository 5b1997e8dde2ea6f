import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { isConfigurationError } from '../../src/errors.js';
import { channels, publish, traceCall, tracing } from '../../src/observe/channels.js';
import { METRICS } from '../../src/observe/metric-catalog.js';
import { registerPrometheusMetrics, type PrometheusMetrics } from '../../src/observe/prometheus.js';
import { parseExposition } from '../helpers/exposition.js';

async function scrape(registry: Registry): Promise<Map<string, number>> {
  return parseExposition(await registry.metrics());
}

let handle: PrometheusMetrics | undefined;
afterEach(() => {
  handle?.dispose();
  handle = undefined;
});

describe('registerPrometheusMetrics', () => {
  it('defines every catalogue metric with the prefix', async () => {
    const registry = new Registry();
    handle = registerPrometheusMetrics({ registry });
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name).sort();
    expect(names).toEqual(Object.values(METRICS).map((m) => `supaguard_${m.name}`).sort());
    const types = new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
    for (const def of Object.values(METRICS)) expect(types.get(`supaguard_${def.name}`)).toBe(def.type);
  });

  it('turns published events into exact counter and gauge values', async () => {
    const registry = new Registry();
    handle = registerPrometheusMetrics({ registry });
    for (let i = 0; i < 3; i++) publish(channels.cacheHit, { layer: 'memory' });
    publish(channels.cacheMiss, { layer: 'memory' });
    publish(channels.cacheMiss, { layer: 'redis' });
    publish(channels.cacheStale, { layer: 'redis' });
    publish(channels.invalidationSent, { cache: 'authorization', keys: 1 });
    publish(channels.invalidationReceived, { cache: 'authorization', keys: 1 });
    publish(channels.invalidationReceived, { cache: 'authorization', keys: 0 });
    publish(channels.busReconnect, { cache: 'authorization' });
    publish(channels.breakerState, { name: 'postgres', from: 'closed', to: 'open' });
    publish(channels.bulkheadQueue, { name: 'db', active: 4, queued: 2 });
    publish(channels.bulkheadRejected, { name: 'db', reason: 'queue-full' });
    publish(channels.tokenCacheHit, {});
    publish(channels.tokenCacheHit, {});
    publish(channels.tokenCacheMiss, {});
    publish(channels.serviceKeyHit, {});
    publish(channels.rateLimitRejected, { limiter: 'api' });
    publish(channels.rateLimitInsurance, { limiter: 'api' });
    publish(channels.auditQueue, { depth: 7 });
    publish(channels.auditDrop, { count: 5, reason: 'queue-full' });
    publish(channels.monitorOperation, { operation: 'auth', durationMs: 30 });
    publish(channels.monitorAlert, { operation: 'auth', percentile: 95, valueMs: 80, targetMs: 50, samples: 40 });

    const s = await scrape(registry);
    expect(s.get('supaguard_cache_hits_total{layer="memory"}')).toBe(3);
    expect(s.get('supaguard_cache_misses_total{layer="memory"}')).toBe(1);
    expect(s.get('supaguard_cache_misses_total{layer="redis"}')).toBe(1);
    expect(s.get('supaguard_cache_hit_ratio{layer="memory"}')).toBe(0.75);
    expect(s.get('supaguard_cache_hit_ratio{layer="redis"}')).toBe(0);
    expect(s.get('supaguard_cache_stale_serves_total{layer="redis"}')).toBe(1);
    expect(s.get('supaguard_invalidations_sent_total{cache="authorization"}')).toBe(1);
    expect(s.get('supaguard_invalidations_received_total{cache="authorization"}')).toBe(2);
    expect(s.get('supaguard_bus_reconnects_total{cache="authorization"}')).toBe(1);
    expect(s.get('supaguard_breaker_state{name="postgres",state="open"}')).toBe(1);
    expect(s.get('supaguard_breaker_state{name="postgres",state="closed"}')).toBe(0);
    expect(s.get('supaguard_breaker_transitions_total{name="postgres",from="closed",to="open"}')).toBe(1);
    expect(s.get('supaguard_bulkhead_active{name="db"}')).toBe(4);
    expect(s.get('supaguard_bulkhead_queue_depth{name="db"}')).toBe(2);
    expect(s.get('supaguard_bulkhead_rejections_total{name="db",reason="queue-full"}')).toBe(1);
    expect(s.get('supaguard_token_cache_hits_total')).toBe(2);
    expect(s.get('supaguard_token_cache_misses_total')).toBe(1);
    expect(s.get('supaguard_service_key_cache_hits_total')).toBe(1);
    expect(s.get('supaguard_service_key_cache_misses_total')).toBe(0);
    expect(s.get('supaguard_rate_limit_rejections_total{limiter="api"}')).toBe(1);
    expect(s.get('supaguard_rate_limit_insurance_total{limiter="api"}')).toBe(1);
    expect(s.get('supaguard_audit_log_queue_depth')).toBe(7);
    expect(s.get('supaguard_audit_log_dropped_total{reason="queue-full"}')).toBe(5);
    expect(s.get('supaguard_operation_duration_seconds_count{operation="auth"}')).toBe(1);
    expect(s.get('supaguard_operation_duration_seconds_bucket{le="0.05",operation="auth"}')).toBe(1);
    expect(s.get('supaguard_operation_duration_seconds_bucket{le="0.025",operation="auth"}')).toBe(0);
    expect(s.get('supaguard_latency_alerts_total{operation="auth"}')).toBe(1);
    expect(s.get('supaguard_latency_target_breached{operation="auth"}')).toBe(1);
  });

  it('counts traced loader calls and JWKS fetches, failures included', async () => {
    const registry = new Registry();
    handle = registerPrometheusMetrics({ registry, prefix: 'app_sg_' });
    await traceCall(tracing.loader, { operation: 'authorization' }, async () => 'row');
    await traceCall(tracing.loader, { operation: 'authorization' }, async () => 'row');
    await expect(traceCall(tracing.loader, { operation: 'authorization' }, () => Promise.reject(new Error('db down')))).rejects.toThrow();
    await traceCall(tracing.jwks, { operation: 'fetch' }, async () => ({ keys: [] }));
    await expect(traceCall(tracing.jwks, { operation: 'fetch' }, () => Promise.reject(new Error('503')))).rejects.toThrow();
    await traceCall(tracing.redis, { operation: 'get' }, async () => null);

    const s = await scrape(registry);
    expect(s.get('app_sg_loader_calls_total{operation="authorization",outcome="ok"}')).toBe(2);
    expect(s.get('app_sg_loader_calls_total{operation="authorization",outcome="error"}')).toBe(1);
    expect(s.get('app_sg_loader_duration_seconds_count{operation="authorization",outcome="ok"}')).toBe(2);
    expect(s.get('app_sg_jwks_fetches_total')).toBe(2);
    expect(s.get('app_sg_jwks_fetch_failures_total')).toBe(1);
    expect(s.get('app_sg_call_duration_seconds_count{call="redis",operation="get",outcome="ok"}')).toBe(1);
    expect(s.get('app_sg_call_duration_seconds_count{call="jwks",operation="fetch",outcome="error"}')).toBe(1);
  });

  it('dispose() stops counting and removes the metrics; a second registration is a typed error', async () => {
    const registry = new Registry();
    const first = registerPrometheusMetrics({ registry });
    let caught: unknown;
    try {
      registerPrometheusMetrics({ registry });
    } catch (err) {
      caught = err;
    }
    expect(isConfigurationError(caught)).toBe(true);
    first.dispose();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
    expect(channels.cacheHit.hasSubscribers).toBe(false);
    expect(tracing.loader.hasSubscribers).toBe(false);
    handle = registerPrometheusMetrics({ registry });
    publish(channels.cacheHit, { layer: 'memory' });
    expect((await scrape(registry)).get('supaguard_cache_hits_total{layer="memory"}')).toBe(1);
  });

  it('rejects an invalid prefix with E_CONFIG', () => {
    expect(() => registerPrometheusMetrics({ registry: new Registry(), prefix: 'bad-prefix' })).toThrow(/prefix/);
  });
});
