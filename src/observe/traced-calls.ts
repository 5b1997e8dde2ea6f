import { performance } from 'node:perf_hooks';
import { subscribeTracing, tracing, type TraceContext, type TracedCall } from './channels.js';

/** Hooks for {@link onTracedCalls}. */
export interface TracedCallHooks {
  /** A traced call started (synchronously, in the caller's async context). */
  start?(call: TracedCall, context: TraceContext): void;
  /** A traced call settled after `durationMs`; `failed` when it rejected (`context.error` holds why). */
  end(call: TracedCall, context: TraceContext, durationMs: number, failed: boolean): void;
}

/**
 * Subscribes to every tracing channel in {@link tracing} (loader, Redis, JWKS, query)
 * and reports each call's start and settled duration. The building block of the
 * Prometheus and OpenTelemetry exporters; returns the disposer.
 *
 * @example
 * ```ts
 * const dispose = onTracedCalls({ end: (call, ctx, ms, failed) => log.debug({ call, op: ctx.operation, ms, failed }) });
 * ```
 */
export function onTracedCalls(hooks: TracedCallHooks): () => void {
  const disposers = (Object.keys(tracing) as TracedCall[]).map((call) => {
    // Per-call start times keyed by the context object Node passes to every event.
    const started = new WeakMap<object, number>();
    return subscribeTracing(tracing[call], {
      start(context) {
        started.set(context, performance.now());
        hooks.start?.(call, context);
      },
      asyncEnd(context) {
        const at = started.get(context);
        // A call that started before we subscribed has no start time: skip it.
        if (at === undefined) return;
        started.delete(context);
        hooks.end(call, context, performance.now() - at, Object.hasOwn(context, 'error'));
      },
    });
  });
  return () => {
    for (const dispose of disposers) dispose();
  };
}
