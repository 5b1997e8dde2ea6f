import { isAbortedError, isDeadlineExceededError, isTimeoutError, type CircuitOpenError } from '../errors.js';
import type { BreakerEvents } from './breaker-events.js';
import type { CircuitBreakerStats } from './circuit-breaker-options.js';
import { LatencyWindow, type LatencySummary } from './latency-window.js';

/** How a breaker call ended, as the breaker counts it. @example `if (outcomes.classify(err) === 'failure') openIfNeeded()` */
export type Outcome = 'success' | 'failure' | 'filtered' | 'aborted';

/** The counters of {@link CircuitBreakerStats}. @example `const { calls, failures } = outcomes.counts()` */
export type BreakerCounts = Pick<CircuitBreakerStats, 'calls' | 'successes' | 'failures' | 'timeouts' | 'rejects' | 'filtered' | 'aborted' | 'fallbacks'>;

/**
 * What a circuit breaker does with each call's outcome: classifies it (caller
 * aborts and `errorFilter`-ed errors are not failures), counts it, samples its
 * latency, tells the listeners, and lets the fallback answer a failure or a
 * rejection. Whether the breaker opens is not decided here (see `OpossumCore`).
 *
 * @example
 * ```ts
 * const outcomes = new BreakerOutcomes((err) => err instanceof NotFoundError, 256, events);
 * const started = performance.now();
 * outcomes.calls++;
 * outcomes.settled('success', undefined, started);
 * outcomes.counts().successes; // 1
 * ```
 */
export class BreakerOutcomes {
  /** Calls that ran `fn`; the breaker counts them as it starts them. */
  calls = 0;
  private successes = 0;
  private failures = 0;
  private timeouts = 0;
  private rejects = 0;
  private filtered = 0;
  private aborted = 0;
  private fallbacks = 0;
  private readonly latency: LatencyWindow;
  /** `events.success`, held here: every successful call reads it, and through `events` that would be a second hop. */
  private readonly successListeners: BreakerEvents['success'];

  constructor(
    private readonly errorFilter: ((error: unknown) => boolean) | undefined,
    latencySamples: number,
    private readonly events: BreakerEvents,
  ) {
    this.latency = new LatencyWindow(latencySamples);
    this.successListeners = events.success;
  }

  /** Counts the outcome of a call started at `started` (`performance.now()`), samples its latency and tells the listeners. */
  settled(outcome: Outcome, error: unknown, started: number): void {
    const latencyMs = performance.now() - started;
    switch (outcome) {
      case 'success':
        this.successes++;
        this.latency.record(latencyMs);
        if (this.successListeners.size > 0) this.successListeners.emit(latencyMs);
        return;
      case 'failure':
        this.failures++;
        this.latency.record(latencyMs);
        if (isTimeoutError(error) || isDeadlineExceededError(error)) {
          this.timeouts++;
          this.events.timeout.emit(error, latencyMs);
        }
        this.events.failure.emit(error, latencyMs);
        return;
      case 'filtered':
        this.filtered++;
        this.latency.record(latencyMs);
        return;
      case 'aborted':
        this.aborted++;
    }
  }

  /** A caller's abort is `aborted`; an error `errorFilter` excuses is `filtered` (a throwing filter excuses nothing). */
  classify(error: unknown): Outcome {
    if (isAbortedError(error)) return 'aborted';
    if (this.errorFilter === undefined) return 'failure';
    try {
      return this.errorFilter(error) ? 'filtered' : 'failure';
    } catch {
      return 'failure';
    }
  }

  /**
   * Settles a call that threw `error`, then rethrows it, or lets `fallback` answer when it is a failure.
   * `outcome` is the caller's {@link BreakerOutcomes.classify} of `error`: `errorFilter` runs once per failed call.
   */
  async failed<T>(error: unknown, outcome: Outcome, started: number, fallback: ((error: unknown) => T | Promise<T>) | undefined): Promise<T> {
    this.settled(outcome, error, started);
    if (outcome !== 'failure' || fallback === undefined) throw error;
    return this.useFallback(error, fallback);
  }

  /** Counts a call the breaker refused with `error`, then throws it, or lets `fallback` answer. */
  async rejected<T>(error: CircuitOpenError, fallback: ((error: unknown) => T | Promise<T>) | undefined): Promise<T> {
    this.rejects++;
    this.events.reject.emit(error);
    if (fallback === undefined) throw error;
    return this.useFallback(error, fallback);
  }

  /** The counters, in the order {@link CircuitBreakerStats} lists them. */
  counts(): BreakerCounts {
    const { calls, successes, failures, timeouts, rejects, filtered, aborted, fallbacks } = this;
    return { calls, successes, failures, timeouts, rejects, filtered, aborted, fallbacks };
  }

  /** Percentiles over the sampled latencies. */
  latencySummary(): LatencySummary {
    return this.latency.summary();
  }

  private async useFallback<T>(error: unknown, fallback: (error: unknown) => T | Promise<T>): Promise<T> {
    const result = await fallback(error);
    this.fallbacks++;
    this.events.fallback.emit(error);
    return result;
  }
}
