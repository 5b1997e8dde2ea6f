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
  /** Counter, gauge or histogram. */
  readonly type: MetricType;
  /** Label (attribute) names, in order. */
  readonly labels: readonly string[];
  /** One-line meaning, used as the Prometheus HELP and the OpenTelemetry description. */
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
  /** `supaguard_cache_hits_total` (counter). */
  cacheHits: counter('cache_hits_total', 'cache.hits', ['layer'], 'Authorization cache hits, per layer.'),
  /** `supaguard_cache_misses_total` (counter). */
  cacheMisses: counter('cache_misses_total', 'cache.misses', ['layer'], 'Authorization cache misses, per layer.'),
  /** `supaguard_cache_hit_ratio` (gauge). */
  cacheHitRatio: gauge('cache_hit_ratio', 'cache.hit_ratio', ['layer'], 'Hits / (hits + misses) per layer since start.'),
  /** `supaguard_cache_stale_serves_total` (counter). */
  cacheStaleServes: counter('cache_stale_serves_total', 'cache.stale_serves', ['layer'], 'Stale entries served because the loader failed or was slow.'),
  /** `supaguard_loader_calls_total` (counter). */
  loaderCalls: counter('loader_calls_total', 'loader.calls', ['operation', 'outcome'], 'Loader (source of truth) calls, by outcome ok|error.'),
  /** `supaguard_loader_duration_seconds` (histogram). */
  loaderDuration: histogram('loader_duration_seconds', 'loader.duration', ['operation', 'outcome'], 'Loader call latency.'),
  /** `supaguard_call_duration_seconds` (histogram). */
  callDuration: histogram('call_duration_seconds', 'call.duration', ['call', 'operation', 'outcome'], 'Latency of traced remote calls: call is loader|redis|jwks|query.'),
  /** `supaguard_invalidations_sent_total` (counter). */
  invalidationsSent: counter('invalidations_sent_total', 'cache.invalidations_sent', ['cache'], 'Invalidation messages a cache published on its bus.'),
  /** `supaguard_invalidations_received_total` (counter). */
  invalidationsReceived: counter('invalidations_received_total', 'cache.invalidations_received', ['cache'], 'Invalidation messages a cache received from its bus (own messages excluded).'),
  /** `supaguard_bus_reconnects_total` (counter). */
  busReconnects: counter('bus_reconnects_total', 'bus.reconnects', ['cache'], 'Bus reconnections after which a cache dropped its local entries.'),
  /** `supaguard_breaker_state` (gauge). */
  breakerState: gauge('breaker_state', 'breaker.state', ['name', 'state'], '1 for the current state of each breaker (closed|open|half-open), 0 for the others.'),
  /** `supaguard_breaker_transitions_total` (counter). */
  breakerTransitions: counter('breaker_transitions_total', 'breaker.transitions', ['name', 'from', 'to'], 'Circuit breaker state transitions.'),
  /** `supaguard_bulkhead_active` (gauge). */
  bulkheadActive: gauge('bulkhead_active', 'bulkhead.active', ['name'], 'Calls running inside each bulkhead.'),
  /** `supaguard_bulkhead_queue_depth` (gauge). */
  bulkheadQueueDepth: gauge('bulkhead_queue_depth', 'bulkhead.queue_depth', ['name'], 'Calls waiting for a bulkhead slot.'),
  /** `supaguard_bulkhead_rejections_total` (counter). */
  bulkheadRejections: counter('bulkhead_rejections_total', 'bulkhead.rejections', ['name', 'reason'], 'Calls a bulkhead rejected, by reason queue-full, queue-timeout or deadline.'),
  /** `supaguard_token_cache_hits_total` (counter). */
  tokenCacheHits: counter('token_cache_hits_total', 'token_cache.hits', [], 'Verified-token cache hits.'),
  /** `supaguard_token_cache_misses_total` (counter). */
  tokenCacheMisses: counter('token_cache_misses_total', 'token_cache.misses', [], 'Verified-token cache misses (full verification).'),
  /** `supaguard_jwks_fetches_total` (counter). */
  jwksFetches: counter('jwks_fetches_total', 'jwks.fetches', [], 'JWKS (signing keys) fetches.'),
  /** `supaguard_jwks_fetch_failures_total` (counter). */
  jwksFetchFailures: counter('jwks_fetch_failures_total', 'jwks.fetch_failures', [], 'JWKS fetches that failed.'),
  /** `supaguard_service_key_cache_hits_total` (counter). */
  serviceKeyHits: counter('service_key_cache_hits_total', 'service_key.cache_hits', [], 'Service-key cache hits.'),
  /** `supaguard_service_key_cache_misses_total` (counter). */
  serviceKeyMisses: counter('service_key_cache_misses_total', 'service_key.cache_misses', [], 'Service-key cache misses (key loaded).'),
  /** `supaguard_rate_limit_rejections_total` (counter). */
  rateLimitRejections: counter('rate_limit_rejections_total', 'rate_limit.rejections', ['limiter'], 'Requests rejected by a rate limiter.'),
  /** `supaguard_rate_limit_insurance_total` (counter). */
  rateLimitInsurance: counter('rate_limit_insurance_total', 'rate_limit.insurance', ['limiter'], 'Decisions taken by the in-memory insurance limiter because the store failed.'),
  /** `supaguard_audit_log_queue_depth` (gauge). */
  auditQueueDepth: gauge('audit_log_queue_depth', 'audit_log.queue_depth', [], 'Audit entries waiting to be written.'),
  /** `supaguard_audit_log_dropped_total` (counter). */
  auditDropped: counter('audit_log_dropped_total', 'audit_log.dropped', ['reason'], 'Audit entries dropped, by reason.'),
  /** `supaguard_operation_duration_seconds` (histogram). */
  operationDuration: histogram('operation_duration_seconds', 'operation.duration', ['operation'], 'Latency of operations tracked by the performance monitor.'),
  /** `supaguard_latency_alerts_total` (counter). */
  latencyAlerts: counter('latency_alerts_total', 'latency.alerts', ['operation'], 'Performance monitor alerts (percentile above target).'),
  /** `supaguard_latency_target_breached` (gauge). */
  latencyBreached: gauge('latency_target_breached', 'latency.target_breached', ['operation'], '1 while the operation is above its latency target.'),
} as const satisfies Record<string, MetricDefinition>;

/** Key of a metric in {@link METRICS}. */
export type MetricKey = keyof typeof METRICS;

/** Histogram bucket bounds in seconds; they include the 50 ms and 75 ms targets. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
