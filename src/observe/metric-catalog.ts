/**
 * The catalogue of supaguard's metrics: one definition per metric, shared by the
 * Prometheus and OpenTelemetry exporters (and by docs/observability.md), so both
 * expose the same metrics with the same labels.
 *
 * @module
 */

/** Kind of a metric. Histograms observe seconds. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One metric of the catalogue. */
export interface MetricDefinition {
  /** Prometheus name without the prefix, e.g. `cache_hits_total`. */
  readonly name: string;
  /** OpenTelemetry instrument name without the prefix, e.g. `cache.hits`. */
  readonly otelName: string;
  readonly type: MetricType;
  /** Label (attribute) names, in order. */
  readonly labels: readonly string[];
  readonly help: string;
  /** Unit for OpenTelemetry (`s`, `1`, `{call}` …). */
  readonly unit: string;
}

const counter = (name: string, otelName: string, labels: readonly string[], help: string, unit = '1'): MetricDefinition => ({
  name,
  otelName,
  type: 'counter',
  labels,
  help,
  unit,
});
const gauge = (name: string, otelName: string, labels: readonly string[], help: string, unit = '1'): MetricDefinition => ({
  name,
  otelName,
  type: 'gauge',
  labels,
  help,
  unit,
});
const histogram = (name: string, otelName: string, labels: readonly string[], help: string): MetricDefinition => ({
  name,
  otelName,
  type: 'histogram',
  labels,
  help,
  unit: 's',
});

/**
 * Every metric supaguard exports. Keys are stable identifiers; `name` is the Prometheus
 * name (after the `supaguard_` prefix), `otelName` the OpenTelemetry one (after `supaguard.`).
 *
 * @example
 * ```ts
 * for (const m of Object.values(METRICS)) console.log(m.name, m.type, m.labels.join(','));
 * ```
 */
export const METRICS = {
  cacheHits: counter('cache_hits_total', 'cache.hits', ['layer'], 'Authorization cache hits, per layer.'),
  cacheMisses: counter('cache_misses_total', 'cache.misses', ['layer'], 'Authorization cache misses, per layer.'),
  cacheHitRatio: gauge('cache_hit_ratio', 'cache.hit_ratio', ['layer'], 'Hits / (hits + misses) per layer since start.'),
  cacheStaleServes: counter('cache_stale_serves_total', 'cache.stale_serves', ['layer'], 'Stale entries served because the loader failed or was slow.'),
  loaderCalls: counter('loader_calls_total', 'loader.calls', ['operation', 'outcome'], 'Loader (source of truth) calls, by outcome ok|error.'),
  loaderDuration: histogram('loader_duration_seconds', 'loader.duration', ['operation', 'outcome'], 'Loader call latency.'),
  callDuration: histogram('call_duration_seconds', 'call.duration', ['call', 'operation', 'outcome'], 'Latency of traced remote calls: call is loader|redis|jwks|query.'),
  invalidationsSent: counter('invalidations_sent_total', 'cache.invalidations_sent', ['cache'], 'Invalidation messages a cache published on its bus.'),
  invalidationsReceived: counter('invalidations_received_total', 'cache.invalidations_received', ['cache'], 'Invalidation messages a cache received from its bus (own messages excluded).'),
  busReconnects: counter('bus_reconnects_total', 'bus.reconnects', ['cache'], 'Bus reconnections after which a cache dropped its local entries.'),
  breakerState: gauge('breaker_state', 'breaker.state', ['name', 'state'], '1 for the current state of each breaker (closed|open|half-open), 0 for the others.'),
  breakerTransitions: counter('breaker_transitions_total', 'breaker.transitions', ['name', 'from', 'to'], 'Circuit breaker state transitions.'),
  bulkheadActive: gauge('bulkhead_active', 'bulkhead.active', ['name'], 'Calls running inside each bulkhead.'),
  bulkheadQueueDepth: gauge('bulkhead_queue_depth', 'bulkhead.queue_depth', ['name'], 'Calls waiting for a bulkhead slot.'),
  bulkheadRejections: counter('bulkhead_rejections_total', 'bulkhead.rejections', ['name', 'reason'], 'Calls a bulkhead rejected, by reason queue-full, queue-timeout or deadline.'),
  tokenCacheHits: counter('token_cache_hits_total', 'token_cache.hits', [], 'Verified-token cache hits.'),
  tokenCacheMisses: counter('token_cache_misses_total', 'token_cache.misses', [], 'Verified-token cache misses (full verification).'),
  jwksFetches: counter('jwks_fetches_total', 'jwks.fetches', [], 'JWKS (signing keys) fetches.'),
  jwksFetchFailures: counter('jwks_fetch_failures_total', 'jwks.fetch_failures', [], 'JWKS fetches that failed.'),
  serviceKeyHits: counter('service_key_cache_hits_total', 'service_key.cache_hits', [], 'Service-key cache hits.'),
  serviceKeyMisses: counter('service_key_cache_misses_total', 'service_key.cache_misses', [], 'Service-key cache misses (key loaded).'),
  rateLimitRejections: counter('rate_limit_rejections_total', 'rate_limit.rejections', ['limiter'], 'Requests rejected by a rate limiter.'),
  rateLimitInsurance: counter('rate_limit_insurance_total', 'rate_limit.insurance', ['limiter'], 'Decisions taken by the in-memory insurance limiter because the store failed.'),
  auditQueueDepth: gauge('audit_log_queue_depth', 'audit_log.queue_depth', [], 'Audit entries waiting to be written.'),
  auditDropped: counter('audit_log_dropped_total', 'audit_log.dropped', ['reason'], 'Audit entries dropped, by reason.'),
  operationDuration: histogram('operation_duration_seconds', 'operation.duration', ['operation'], 'Latency of operations tracked by the performance monitor.'),
  latencyAlerts: counter('latency_alerts_total', 'latency.alerts', ['operation'], 'Performance monitor alerts (percentile above target).'),
  latencyBreached: gauge('latency_target_breached', 'latency.target_breached', ['operation'], '1 while the operation is above its latency target.'),
} as const satisfies Record<string, MetricDefinition>;

/** Key of a metric in {@link METRICS}. */
export type MetricKey = keyof typeof METRICS;

/** Histogram bucket bounds in seconds; they include the 50 ms and 75 ms targets. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
