/**
 * `supaguard/prometheus` — supaguard's metrics on a prom-client registry.
 * Requires the optional peer `prom-client`.
 *
 * @module
 */
export * from './observe/prometheus.js';
export { METRICS, DEFAULT_DURATION_BUCKETS, type MetricDefinition, type MetricKey } from './observe/metric-catalog.js';
