import Opossum from 'opossum';
import { boundedStatus, windowCounter, type WindowCounter } from './bounded-status.js';
import type { CircuitBreakerStats } from './circuit-breaker-options.js';
import { acquireSharedClock } from './shared-clock.js';

type Run<T> = () => Promise<T>;

/** A state change opossum reports to the breaker. @example `const to: OpossumTransition = 'half-open'` */
export type OpossumTransition = 'open' | 'half-open' | 'close';

/**
 * Options of {@link OpossumCore}, validated by the breaker.
 *
 * @example
 * ```ts
 * const options: OpossumCoreOptions = { name: 'redis', windowMs: 10_000, buckets: 10, resetTimeoutMs: 10_000, errorThresholdPercentage: 50, volumeThreshold: 5, onTransition };
 * ```
 */
export interface OpossumCoreOptions {
  readonly name: string;
  readonly windowMs: number;
  readonly buckets: number;
  readonly resetTimeoutMs: number;
  readonly errorThresholdPercentage: number;
  readonly volumeThreshold: number;
  /** Called on opossum's `open`, `halfOpen` and `close` events. */
  readonly onTransition: (to: OpossumTransition) => void;
}

/**
 * What a circuit breaker keeps of opossum: the rolling window (bounded, its
 * buckets rotated by one shared clock instead of two intervals per breaker),
 * the open rule that reads it, and the open / half-open / closed state machine
 * with its reset timer. The breaker's calls never go through `opossum.fire()`;
 * they count into {@link OpossumCore.counter}, a failure through {@link OpossumCore.recordFailure}.
 *
 * @example
 * ```ts
 * const core = new OpossumCore({ name: 'redis', windowMs: 10_000, buckets: 10, resetTimeoutMs: 10_000, errorThresholdPercentage: 50, volumeThreshold: 5, onTransition: (to) => log.info(to) });
 * core.counter.fire();
 * core.recordFailure(true);
 * core.dispose();
 * ```
 */
export class OpossumCore {
  /** Counts into opossum's rolling window (the buckets its open decision and stats read). */
  readonly counter: WindowCounter;
  private readonly inner: Opossum<[Run<unknown>], unknown>;
  private readonly releaseClock: () => void;
  private readonly buckets: number;
  private readonly errorThresholdPercentage: number;
  private readonly resetTimeoutMs: number;
  private openedAt = 0;

  constructor(options: OpossumCoreOptions) {
    const { name, windowMs, buckets, onTransition } = options;
    this.buckets = buckets;
    this.errorThresholdPercentage = options.errorThresholdPercentage;
    this.resetTimeoutMs = options.resetTimeoutMs;
    const clock = acquireSharedClock(Math.max(1, Math.floor(windowMs / buckets)));
    this.releaseClock = clock.release;
    const status = boundedStatus({ windowMs, buckets, clock: clock.emitter });
    this.counter = windowCounter(status);
    this.inner = new Opossum<[Run<unknown>], unknown>((run: Run<unknown>) => run(), {
      name,
      // Timeouts are per call (withTimeout) so each call gets its own signal.
      timeout: false,
      resetTimeout: options.resetTimeoutMs,
      errorThresholdPercentage: options.errorThresholdPercentage,
      volumeThreshold: options.volumeThreshold,
      rollingCountTimeout: windowMs,
      rollingCountBuckets: buckets,
      // One shared clock rotates the buckets; the status keeps counts, not every latency.
      status,
      rotateBucketController: clock.emitter,
      // No errorFilter: opossum reads it only inside fire(), which the breaker never calls.
    });
    this.inner.on('open', () => {
      this.openedAt = performance.now();
      onTransition('open');
    });
    this.inner.on('halfOpen', () => onTransition('half-open'));
    this.inner.on('close', () => onTransition('close'));
  }

  /**
   * What opossum's fire() does with a failure: count it in the rolling window,
   * then apply its rule — once `volumeThreshold` calls are in the window,
   * open when the failure percentage exceeds `errorThresholdPercentage` — and
   * opossum's `open()` (state, reset timer, half-open later). Only a `closed` breaker opens.
   */
  recordFailure(closed: boolean): void {
    const inner = this.inner;
    this.counter.failure();
    if (!closed) return;
    const window = inner.stats;
    if (window.fires < inner.volumeThreshold) return;
    if ((window.failures / window.fires) * 100 > this.errorThresholdPercentage) inner.open();
  }

  /** Milliseconds until the reset timer half-opens the breaker, counted from when it last opened. */
  retryAfterMs(): number {
    return Math.max(0, this.openedAt + this.resetTimeoutMs - performance.now());
  }

  /** opossum's `open()`: state, reset timer, half-open later. */
  open(): void {
    this.inner.open();
  }

  /** opossum's `close()`. */
  close(): void {
    this.inner.close();
  }

  /** Rotates every bucket out, leaving an empty window. */
  forget(): void {
    const status = this.inner.status as unknown as { rotateBucket?: () => void };
    for (let i = 0; i < this.buckets; i++) status.rotateBucket?.();
  }

  /** Counts in the current rolling window. */
  windowCounts(): CircuitBreakerStats['window'] {
    const rolling = this.inner.stats;
    return { fires: rolling.fires, successes: rolling.successes, failures: rolling.failures };
  }

  /** Stops opossum (its reset timer) and lets go of the shared clock. */
  dispose(): void {
    this.inner.shutdown();
    this.releaseClock();
  }
}
