import {
  metrics as otelMetrics,
  SpanKind,
  SpanStatusCode,
  trace as otelTrace,
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  type ObservableGauge,
  type ObservableResult,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api';
import { DEFAULT_DURATION_BUCKETS, METRICS, type MetricKey } from './metric-catalog.js';
import { subscribeMetrics, type MetricLabels } from './metric-events.js';
import { redactText } from './logger.js';
import { onTracedCalls } from './traced-calls.js';

/** Options for {@link registerOpenTelemetry}. */
export interface OpenTelemetryOptions {
  /** Where the metrics go. @default the global MeterProvider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
  /** Where the spans go. @default the global TracerProvider */
  tracerProvider?: TracerProvider;
  /** Prefix of every instrument name. @default "supaguard." */
  prefix?: string;
  /** Histogram bucket advice, in seconds. @default {@link DEFAULT_DURATION_BUCKETS} */
  buckets?: readonly number[];
  /** Export the metrics. @default true */
  metrics?: boolean;
  /** Create spans around loader, Redis, JWKS and query calls. @default true */
  spans?: boolean;
}

/** A running OpenTelemetry bridge; `dispose()` stops it. */
export interface OpenTelemetryInstrumentation {
  /** Unsubscribes from the channels and detaches the gauge callbacks. */
  dispose(): void;
}

const SCOPE = 'supaguard';

function instrumentMetrics(provider: MeterProvider, prefix: string, buckets: readonly number[]): () => void {
  const meter = provider.getMeter(SCOPE);
  const counters = new Map<MetricKey, Counter>();
  const histograms = new Map<MetricKey, Histogram>();
  // Gauges are observable: the latest value per label set, reported at collection.
  const gaugeValues = new Map<MetricKey, Map<string, { labels: Attributes; value: number }>>();
  const detach: Array<() => void> = [];
  const subscription = subscribeMetrics({
    add: (key, labels, value) => counters.get(key)?.add(value, labels),
    observe: (key, labels, seconds) => histograms.get(key)?.record(seconds, labels),
    set: (key, labels: MetricLabels, value) => gaugeValues.get(key)?.set(Object.values(labels).join('\0'), { labels, value }),
  });
  for (const [key, def] of Object.entries(METRICS) as Array<[MetricKey, (typeof METRICS)[MetricKey]]>) {
    const name = `${prefix}${def.otelName}`;
    if (def.type === 'counter') counters.set(key, meter.createCounter(name, { description: def.help, unit: def.unit }));
    else if (def.type === 'histogram') {
      histograms.set(key, meter.createHistogram(name, { description: def.help, unit: def.unit, advice: { explicitBucketBoundaries: [...buckets] } }));
    } else {
      const values = new Map<string, { labels: Attributes; value: number }>();
      gaugeValues.set(key, values);
      const gauge: ObservableGauge = meter.createObservableGauge(name, { description: def.help, unit: def.unit });
      const report = (result: ObservableResult): void => {
        if (key === 'cacheHitRatio') subscription.collect();
        for (const { labels, value } of values.values()) result.observe(value, labels);
      };
      gauge.addCallback(report);
      detach.push(() => gauge.removeCallback(report));
    }
  }
  const { dispose } = subscription;
  return () => {
    dispose();
    for (const fn of detach) fn();
  };
}

function instrumentSpans(provider: TracerProvider): () => void {
  const tracer = provider.getTracer(SCOPE);
  const spans = new WeakMap<object, Span>();
  return onTracedCalls({
    start(call, context) {
      const operation = String(context.operation);
      const attributes: Attributes = { 'supaguard.call': call, 'supaguard.operation': operation };
      if (call === 'redis') Object.assign(attributes, { 'db.system': 'redis', 'db.operation.name': operation });
      if (call === 'query') Object.assign(attributes, { 'db.system': 'postgresql', 'db.collection.name': operation });
      // Started synchronously in the caller's async context, so the caller's active span is the parent.
      const span = tracer.startSpan(`${call} ${operation}`, { kind: call === 'loader' ? SpanKind.INTERNAL : SpanKind.CLIENT, attributes });
      spans.set(context, span);
    },
    end(_call, context, _durationMs, failed) {
      const span = spans.get(context);
      if (span === undefined) return;
      spans.delete(context);
      if (failed) {
        const error = context.error;
        const type = error instanceof Error ? error.name : typeof error;
        const message = redactText(error instanceof Error ? error.message : String(error));
        const code = (error as { code?: unknown } | null)?.code;
        span.recordException({ name: type, message, ...(typeof code === 'string' ? { code } : {}) });
        span.setStatus({ code: SpanStatusCode.ERROR, message });
      }
      span.end();
    },
  });
}

/**
 * Bridges supaguard's diagnostics channels to OpenTelemetry: every metric of
 * {@link METRICS} as an instrument (`supaguard.cache.hits` …), and spans around loader,
 * Redis, JWKS and query calls. Uses the global providers unless you pass your own.
 *
 * @param options - providers, prefix, buckets, what to export
 * @example
 * ```ts
 * import { registerOpenTelemetry } from 'supaguard/otel';
 * const otel = registerOpenTelemetry(); // after your SDK has set the global providers
 * process.on('SIGTERM', () => otel.dispose());
 * ```
 */
export function registerOpenTelemetry(options: OpenTelemetryOptions = {}): OpenTelemetryInstrumentation {
  const disposers: Array<() => void> = [];
  if (options.metrics !== false) {
    disposers.push(instrumentMetrics(options.meterProvider ?? otelMetrics.getMeterProvider(), options.prefix ?? 'supaguard.', options.buckets ?? DEFAULT_DURATION_BUCKETS));
  }
  if (options.spans !== false) disposers.push(instrumentSpans(options.tracerProvider ?? otelTrace.getTracerProvider()));
  return {
    dispose() {
      for (const dispose of disposers.splice(0)) dispose();
    },
  };
}
