import { channels, subscribe, type BreakerState, type TypedChannel } from './channels.js';
import type { MetricKey } from './metric-catalog.js';
import { onTracedCalls } from './traced-calls.js';

/** Label values of one sample. */
export type MetricLabels = Record<string, string>;

/**
 * Where {@link subscribeMetrics} writes: an exporter implements these three
 * operations for its metrics library.
 */
export interface MetricSink {
  /** Adds `value` to a counter. */
  add(metric: MetricKey, labels: MetricLabels, value: number): void;
  /** Sets a gauge. */
  set(metric: MetricKey, labels: MetricLabels, value: number): void;
  /** Records a histogram sample, in seconds. */
  observe(metric: MetricKey, labels: MetricLabels, seconds: number): void;
}

/** What {@link subscribeMetrics} returns. */
export interface MetricSubscription {
  /** Writes the derived gauges (cache hit ratio per layer) to the sink; exporters call it when they collect. */
  collect(): void;
  /** Unsubscribes from every channel. */
  dispose(): void;
}

const NO_LABELS: MetricLabels = Object.freeze({});
const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

/**
 * Subscribes to every supaguard channel and turns the events into the metrics of
 * {@link METRICS}, written to `sink`. Derived gauges (the hit ratio) are computed only when
 * the exporter calls `collect()`, so an event costs one sink write.
 *
 * @example
 * ```ts
 * const metrics = subscribeMetrics({
 *   add: (m, labels, v) => console.log('+', m, labels, v),
 *   set: (m, labels, v) => console.log('=', m, labels, v),
 *   observe: (m, labels, s) => console.log('~', m, labels, s),
 * });
 * metrics.collect(); // before reading gauges
 * metrics.dispose();
 * ```
 */
export function subscribeMetrics(sink: MetricSink): MetricSubscription {
  const disposers: Array<() => void> = [];
  const on = <T>(channel: TypedChannel<T>, listener: (message: T) => void): void => {
    disposers.push(subscribe(channel, listener));
  };
  const count = (metric: MetricKey, labels: MetricLabels = NO_LABELS, value = 1): void => sink.add(metric, labels, value);

  const lookups = new Map<string, { hits: number; misses: number }>();
  const lookup = (layer: string, hit: boolean): void => {
    const seen = lookups.get(layer) ?? { hits: 0, misses: 0 };
    lookups.set(layer, seen);
    if (hit) seen.hits++;
    else seen.misses++;
    count(hit ? 'cacheHits' : 'cacheMisses', { layer });
  };

  on(channels.cacheHit, (e) => lookup(String(e.layer), true));
  on(channels.cacheMiss, (e) => lookup(String(e.layer), false));
  on(channels.cacheStale, (e) => count('cacheStaleServes', { layer: String(e.layer) }));
  on(channels.invalidationSent, (e) => count('invalidationsSent', { cache: String(e.cache) }));
  on(channels.invalidationReceived, (e) => count('invalidationsReceived', { cache: String(e.cache) }));
  on(channels.busReconnect, (e) => count('busReconnects', { cache: String(e.cache) }));
  on(channels.breakerState, (e) => {
    const name = String(e.name);
    count('breakerTransitions', { name, from: String(e.from), to: String(e.to) });
    for (const state of BREAKER_STATES) sink.set('breakerState', { name, state }, state === e.to ? 1 : 0);
  });
  on(channels.bulkheadQueue, (e) => {
    sink.set('bulkheadActive', { name: String(e.name) }, e.active);
    sink.set('bulkheadQueueDepth', { name: String(e.name) }, e.queued);
  });
  on(channels.bulkheadRejected, (e) => count('bulkheadRejections', { name: String(e.name), reason: String(e.reason) }));
  on(channels.tokenCacheHit, () => count('tokenCacheHits'));
  on(channels.tokenCacheMiss, () => count('tokenCacheMisses'));
  on(channels.serviceKeyHit, () => count('serviceKeyHits'));
  on(channels.serviceKeyMiss, () => count('serviceKeyMisses'));
  on(channels.rateLimitRejected, (e) => count('rateLimitRejections', { limiter: String(e.limiter) }));
  on(channels.rateLimitInsurance, (e) => count('rateLimitInsurance', { limiter: String(e.limiter) }));
  on(channels.auditQueue, (e) => sink.set('auditQueueDepth', NO_LABELS, e.depth));
  on(channels.auditDrop, (e) => count('auditDropped', { reason: String(e.reason) }, e.count));
  on(channels.monitorOperation, (e) => sink.observe('operationDuration', { operation: String(e.operation) }, e.durationMs / 1000));
  on(channels.monitorAlert, (e) => {
    count('latencyAlerts', { operation: String(e.operation) });
    sink.set('latencyBreached', { operation: String(e.operation) }, 1);
  });
  on(channels.monitorRecover, (e) => sink.set('latencyBreached', { operation: String(e.operation) }, 0));

  disposers.push(
    onTracedCalls({
      end(call, context, durationMs, failed) {
        const operation = String(context.operation);
        const outcome = failed ? 'error' : 'ok';
        sink.observe('callDuration', { call, operation, outcome }, durationMs / 1000);
        if (call === 'loader') {
          count('loaderCalls', { operation, outcome });
          sink.observe('loaderDuration', { operation, outcome }, durationMs / 1000);
        } else if (call === 'jwks') {
          count('jwksFetches');
          if (failed) count('jwksFetchFailures');
        }
      },
    }),
  );

  return {
    collect() {
      for (const [layer, seen] of lookups) sink.set('cacheHitRatio', { layer }, seen.hits / (seen.hits + seen.misses));
    },
    dispose() {
      for (const dispose of disposers) dispose();
    },
  };
}
