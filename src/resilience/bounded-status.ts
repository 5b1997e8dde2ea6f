import type { EventEmitter } from 'node:events';
import Opossum from 'opossum';

/** Options of {@link boundedStatus}. */
export interface BoundedStatusOptions {
  readonly windowMs: number;
  readonly buckets: number;
  /** The shared clock that rotates the buckets. */
  readonly clock: EventEmitter;
}

/**
 * An opossum `Status` (the rolling window the open decision reads) that counts
 * without keeping latencies. opossum pushes every call's latency into the
 * current bucket even with `rollingPercentilesEnabled: false`, so its memory
 * grows with traffic (10 s × 10,000 calls/s = 100,000 numbers per breaker); the
 * breaker keeps its own fixed-size latency sample instead. If a future opossum
 * renames its internals, the status is returned unpatched: still correct, just
 * not bounded.
 *
 * @example
 * ```ts
 * const status = boundedStatus({ windowMs: 10_000, buckets: 10, clock });
 * new Opossum(action, { status });
 * ```
 */
export function boundedStatus(options: BoundedStatusOptions): Opossum.Status {
  const status = Opossum.newStatus({
    rollingCountTimeout: options.windowMs,
    rollingCountBuckets: options.buckets,
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
    rotateBucketController: options.clock,
  });
  const internals = status as unknown as Record<symbol, Array<Record<string, number>> | undefined> & { increment?: unknown };
  const windowKey = Object.getOwnPropertySymbols(status).find((s) => s.description === 'window');
  const window = windowKey === undefined ? undefined : internals[windowKey];
  if (windowKey === undefined || !Array.isArray(window) || typeof internals.increment !== 'function') return status;
  internals.increment = (property: string): void => {
    // Re-read the window each time: rotation replaces buckets in place (pop/unshift on the same array).
    const bucket = internals[windowKey]?.[0];
    if (bucket !== undefined) bucket[property] = (bucket[property] ?? 0) + 1;
  };
  return status;
}

/** Adds one call's outcome to the current bucket of an opossum rolling window. */
export interface WindowCounter {
  fire(): void;
  success(): void;
  failure(): void;
}

/**
 * Counts straight into `status`'s current bucket — what opossum's `fire` /
 * `success` / `failure` events do through an event emitter and a keyed
 * `increment(property)` — for the breaker's per-call fast path. Falls back to
 * the public `Status.increment` if opossum's internals are not as expected.
 *
 * @example
 * ```ts
 * const count = windowCounter(status);
 * count.fire();
 * count.success();
 * ```
 */
export function windowCounter(status: Opossum.Status): WindowCounter {
  const internals = status as unknown as Record<symbol, Array<Record<string, number>> | undefined>;
  const windowKey = Object.getOwnPropertySymbols(status).find((s) => s.description === 'window');
  const first = windowKey === undefined ? undefined : internals[windowKey]?.[0];
  if (windowKey === undefined || typeof first?.fires !== 'number' || typeof first.successes !== 'number' || typeof first.failures !== 'number') {
    const increment = (status as unknown as { increment: (property: string) => void }).increment.bind(status);
    return { fire: () => increment('fires'), success: () => increment('successes'), failure: () => increment('failures') };
  }
  // Re-read the window each time: rotation replaces buckets in place (pop/unshift on the same array).
  const current = (): { fires: number; successes: number; failures: number } | undefined =>
    internals[windowKey]?.[0] as { fires: number; successes: number; failures: number } | undefined;
  return {
    fire: () => {
      const bucket = current();
      if (bucket !== undefined) bucket.fires++;
    },
    success: () => {
      const bucket = current();
      if (bucket !== undefined) bucket.successes++;
    },
    failure: () => {
      const bucket = current();
      if (bucket !== undefined) bucket.failures++;
    },
  };
}
