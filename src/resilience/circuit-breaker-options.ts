import { ConfigurationError } from '../errors.js';
import type { LatencySummary } from './latency-window.js';

/** State of a circuit breaker. @example `if (breaker.state === 'open') serveDegraded()` */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Options for {@link createCircuitBreaker}. @example `{ name: 'redis', timeoutMs: 50, halfOpenTrials: 3 }` */
export interface CircuitBreakerOptions<A extends unknown[], R> {
  /** Name used in errors, metrics and {@link listCircuitBreakers}, e.g. `redis` or `jwks`. */
  name: string;
  /** Own timeout of each call in ms (`Infinity`: only the ambient deadline bounds it). @default 5000 */
  timeoutMs?: number | undefined;
  /** Failure percentage over the rolling window at which the breaker opens. @default 50 */
  errorThresholdPercentage?: number | undefined;
  /** Calls needed in the rolling window before the breaker may open. @default 5 */
  volumeThreshold?: number | undefined;
  /** How long the breaker stays open before admitting trial calls. @default 10000 */
  resetTimeoutMs?: number | undefined;
  /** Trial calls admitted while half-open; that many successes close the breaker, one failure reopens it. @default 1 */
  halfOpenTrials?: number | undefined;
  /** Length of the rolling statistics window in ms. @default 10000 */
  rollingWindowMs?: number | undefined;
  /** Buckets the rolling window is divided into. @default 10 */
  rollingBuckets?: number | undefined;
  /**
   * Returns true for errors that are the caller's fault (bad input, not found):
   * they are rethrown but never count as failures, so they never open the breaker.
   * Caller aborts (`AbortedError`) never count either.
   */
  errorFilter?: ((error: unknown) => boolean) | undefined;
  /** Answers instead of throwing when a `fire` call fails or is rejected because the breaker is open. */
  fallback?: ((error: unknown, ...args: A) => R | Promise<R>) | undefined;
  /** How many recent latencies the percentiles are computed from. @default 256 */
  latencySamples?: number | undefined;
}

/** Counters, rolling window and latency percentiles of a breaker, as {@link CircuitBreaker.stats} returns them. @example `const { state, failures, latencyMs } = breaker.stats()` */
export interface CircuitBreakerStats {
  readonly name: string;
  readonly state: CircuitState;
  /** Calls that ran `fn` (closed or half-open), since creation. */
  readonly calls: number;
  readonly successes: number;
  /** Failures that counted towards opening (timeouts included). */
  readonly failures: number;
  /** Failures that were timeouts (`E_TIMEOUT`, or the deadline passing while `fn` ran). */
  readonly timeouts: number;
  /** Calls refused with `CircuitOpenError`. */
  readonly rejects: number;
  /** Errors the `errorFilter` excused. */
  readonly filtered: number;
  /** Calls whose caller aborted. */
  readonly aborted: number;
  readonly fallbacks: number;
  /** Counts in the current rolling window (what the open decision is based on). */
  readonly window: { readonly fires: number; readonly successes: number; readonly failures: number };
  /** Latency of completed calls, in ms. */
  readonly latencyMs: LatencySummary;
}

/** Validates a positive duration option (ms). @internal */
export function positive(field: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !(v > 0)) throw new ConfigurationError(field, 'must be a positive number of milliseconds');
  return v;
}

/** Validates an integer option with a minimum. @internal */
export function integer(field: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new ConfigurationError(field, `must be an integer >= ${min}`);
  return v;
}

/** {@link CircuitBreakerOptions} validated, with their defaults. @internal @example `const { name, timeoutMs } = resolveOptions({ name: 'redis' })` */
export interface ResolvedOptions {
  readonly name: string;
  readonly timeoutMs: number;
  readonly resetTimeoutMs: number;
  readonly halfOpenTrials: number;
  readonly windowMs: number;
  readonly buckets: number;
  readonly errorThresholdPercentage: number;
  readonly volumeThreshold: number;
  readonly latencySamples: number;
}

/**
 * Validates a breaker's options and applies their defaults, checking them in
 * the order the breaker always has (the first invalid one is reported).
 *
 * @internal
 * @throws {@link ConfigurationError} for an invalid option.
 * @example
 * ```ts
 * const { name, timeoutMs, windowMs, buckets } = resolveOptions({ name: 'redis', timeoutMs: 50 });
 * ```
 */
export function resolveOptions<A extends unknown[], R>(options: CircuitBreakerOptions<A, R>): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new ConfigurationError('options', 'must be an object with a name');
  const name = options?.name;
  if (typeof name !== 'string' || name.length === 0) throw new ConfigurationError('name', 'must be a non-empty string');
  const timeoutMs = positive('timeoutMs', options.timeoutMs, 5_000);
  const resetTimeoutMs = positive('resetTimeoutMs', options.resetTimeoutMs, 10_000);
  const halfOpenTrials = integer('halfOpenTrials', options.halfOpenTrials, 1, 1);
  const windowMs = positive('rollingWindowMs', options.rollingWindowMs, 10_000);
  const buckets = integer('rollingBuckets', options.rollingBuckets, 10, 1);
  const threshold = options.errorThresholdPercentage ?? 50;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 100)) {
    throw new ConfigurationError('errorThresholdPercentage', 'must be a number from 0 to 100');
  }
  if (!Number.isFinite(resetTimeoutMs) || !Number.isFinite(windowMs)) {
    throw new ConfigurationError('resetTimeoutMs', 'and rollingWindowMs must be finite');
  }
  const latencySamples = integer('latencySamples', options.latencySamples, 256, 1);
  // Validated with the others, before the breaker takes anything (the shared clock) that a throw would leak.
  const volumeThreshold = integer('volumeThreshold', options.volumeThreshold, 5, 0);
  return { name, timeoutMs, resetTimeoutMs, halfOpenTrials, windowMs, buckets, errorThresholdPercentage: threshold, volumeThreshold, latencySamples };
}
