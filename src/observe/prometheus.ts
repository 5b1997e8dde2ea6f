import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client';
import { ConfigurationError } from '../errors.js';
import { DEFAULT_DURATION_BUCKETS, METRICS, type MetricKey } from './metric-catalog.js';
import { subscribeMetrics, type MetricLabels } from './metric-events.js';

/** Options for {@link registerPrometheusMetrics}. */
export interface PrometheusMetricsOptions {
  /** The prom-client registry to register on. @default prom-client's global `register` */
  registry?: Registry;
  /** Prefix of every metric name. @default "supaguard_" */
  prefix?: string;
  /** Histogram buckets, in seconds. @default {@link DEFAULT_DURATION_BUCKETS} */
  buckets?: readonly number[];
}

/** A prom-client metric supaguard registers. */
export type PromMetric = Counter | Gauge | Histogram;

/** The registered metrics; `dispose()` unsubscribes and removes them from the registry. */
export class PrometheusMetrics {
  /** The registry the metrics are registered on. */
  readonly registry: Registry;
  private readonly metrics: Map<MetricKey, PromMetric>;
  private readonly unsubscribe: () => void;

  constructor(registry: Registry, metrics: Map<MetricKey, PromMetric>, unsubscribe: () => void) {
    this.registry = registry;
    this.metrics = metrics;
    this.unsubscribe = unsubscribe;
  }

  /** The prom-client metric behind a catalogue entry. */
  get(metric: MetricKey): PromMetric {
    return this.metrics.get(metric) as PromMetric;
  }

  /** Stops listening and removes every supaguard metric from the registry. */
  dispose(): void {
    this.unsubscribe();
    for (const metric of this.metrics.values()) this.registry.removeSingleMetric((metric as unknown as { name: string }).name);
    this.metrics.clear();
  }
}

/**
 * Registers every supaguard metric (see {@link METRICS}) on a prom-client registry and
 * keeps them up to date from the `supaguard:*` diagnostics channels.
 *
 * @param options - registry, name prefix, buckets
 * @throws {@link ConfigurationError} when the registry already holds supaguard metrics with that prefix
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { registerPrometheusMetrics } from 'supaguard/prometheus';
 *
 * const registry = new Registry();
 * registerPrometheusMetrics({ registry });
 * app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
 * ```
 */
export function registerPrometheusMetrics(options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const registry = options.registry ?? defaultRegistry;
  const prefix = options.prefix ?? 'supaguard_';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(`${prefix}x`)) throw new ConfigurationError('prefix', 'must be a valid Prometheus metric name prefix');
  if (registry.getSingleMetric(`${prefix}${METRICS.cacheHits.name}`) !== undefined) {
    throw new ConfigurationError('registry', `already has supaguard metrics with prefix "${prefix}"`);
  }
  const buckets = [...(options.buckets ?? DEFAULT_DURATION_BUCKETS)];
  const metrics = new Map<MetricKey, PromMetric>();
  const metric = <T extends PromMetric>(key: MetricKey): T => metrics.get(key) as T;
  const subscription = subscribeMetrics({
    add: (key, labels: MetricLabels, value) => metric<Counter>(key).inc(labels, value),
    set: (key, labels, value) => metric<Gauge>(key).set(labels, value),
    observe: (key, labels, seconds) => metric<Histogram>(key).observe(labels, seconds),
  });
  for (const [key, def] of Object.entries(METRICS) as Array<[MetricKey, (typeof METRICS)[MetricKey]]>) {
    const config = { name: `${prefix}${def.name}`, help: def.help, labelNames: [...def.labels], registers: [registry] };
    // Derived gauges (the hit ratio) are computed when the registry is scraped.
    const collect = key === 'cacheHitRatio' ? () => subscription.collect() : undefined;
    const created = def.type === 'counter' ? new Counter(config) : def.type === 'gauge' ? new Gauge({ ...config, collect }) : new Histogram({ ...config, buckets });
    metrics.set(key, created);
  }
  return new PrometheusMetrics(registry, metrics, subscription.dispose);
}
