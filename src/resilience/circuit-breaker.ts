import { CircuitOpenError, ConfigurationError } from '../errors.js';
import { registerCircuitBreaker, unregisterCircuitBreaker } from './circuit-registry.js';
import type { WindowCounter } from './bounded-status.js';
import { abortError, DEFAULT_DEADLINE_FLOOR_MS } from './deadline.js';
import { budgetLeft, currentScope } from './deadline-scope.js';
import type { Disposer } from './listeners.js';
import { NEVER_ABORTED } from './never-aborted.js';
import { markSelfSettling, type ExecuteOptions, type ResiliencePolicy } from './policy.js';
import { resolveOptions, type CircuitBreakerOptions, type CircuitBreakerStats, type CircuitState } from './circuit-breaker-options.js';
import { BreakerCall, type ClosedAccounting } from './breaker-call.js';
import { OpossumCore, type OpossumTransition } from './opossum-core.js';
import { BreakerEvents } from './breaker-events.js';
import { BreakerOutcomes } from './breaker-outcomes.js';
import { HalfOpenTrials } from './half-open-trials.js';

export type { CircuitBreakerOptions, CircuitBreakerStats, CircuitState } from './circuit-breaker-options.js';

/**
 * A circuit breaker built on opossum, with a fresh `AbortSignal` per call (never
 * one controller shared by all calls, opossum issue 780), timeouts bounded by
 * the ambient deadline, a configurable number of half-open trials, bounded
 * memory (a fixed latency ring; rolling buckets rotated by one shared clock
 * instead of two intervals per breaker) and typed listeners returning disposers.
 * opossum keeps the rolling window, the state machine and the reset timer; a
 * closed breaker's call runs outside `opossum.fire()` (which alone costs ~1.2 µs
 * per call on Node 20) and counts its outcome into opossum's window, and a
 * failure gets opossum's open rule (volume threshold, then error percentage).
 * Create it with {@link createCircuitBreaker}.
 *
 * @example
 * ```ts
 * const breaker = createCircuitBreaker((signal, key: string) => redis.get(key), { name: 'redis', timeoutMs: 50 });
 * const value = await breaker.fire('k1');
 * ```
 */
export class CircuitBreaker<A extends unknown[] = unknown[], R = unknown> implements ResiliencePolicy {
  readonly name: string;
  private readonly fn: ((signal: AbortSignal, ...args: A) => R | Promise<R>) | undefined;
  private readonly timeoutMs: number;
  private readonly fallback: ((error: unknown, ...args: A) => R | Promise<R>) | undefined;
  private readonly opossum: OpossumCore;
  /** `opossum.counter`, held here so a call counts into the window without a second hop. */
  private readonly window: WindowCounter;
  private readonly events = new BreakerEvents();
  private readonly outcomes: BreakerOutcomes;
  private readonly trials: HalfOpenTrials;
  private currentState: CircuitState = 'closed';
  /** Bumped on every transition so late results from an earlier phase are ignored. */
  private generation = 0;
  private disposed = false;
  /** What a closed call reports when it settles (made once, so a call needs no closures for it). */
  private readonly accounting: ClosedAccounting = {
    succeeded: (generation, started) => this.closedSucceeded(generation, started),
    failed: (error, generation, started, fallback) => this.closedFailed(error, generation, started, fallback),
  };

  /** `fn` may be `undefined` for a breaker used only through `execute` / `compose`. */
  constructor(fn: ((signal: AbortSignal, ...args: A) => R | Promise<R>) | undefined, options: CircuitBreakerOptions<A, R>) {
    if (fn !== undefined && typeof fn !== 'function') throw new ConfigurationError('fn', 'must be a function');
    const resolved = resolveOptions(options);
    this.name = resolved.name;
    this.fn = fn;
    this.timeoutMs = resolved.timeoutMs;
    this.fallback = options.fallback;
    this.outcomes = new BreakerOutcomes(options.errorFilter, resolved.latencySamples, this.events);
    this.opossum = new OpossumCore({
      name: this.name,
      windowMs: resolved.windowMs,
      buckets: resolved.buckets,
      resetTimeoutMs: resolved.resetTimeoutMs,
      errorThresholdPercentage: resolved.errorThresholdPercentage,
      volumeThreshold: resolved.volumeThreshold,
      onTransition: (to) => this.transition(to),
    });
    this.window = this.opossum.counter;
    this.trials = new HalfOpenTrials(resolved.halfOpenTrials, this.name, this.timeoutMs, this.outcomes, this.opossum);
    registerCircuitBreaker(this);
    markSelfSettling(this);
  }

  /** Current state. */
  get state(): CircuitState {
    return this.currentState;
  }

  /**
   * Calls the breaker's `fn` with `args` under the ambient deadline.
   *
   * @throws {@link CircuitOpenError} while open (unless `fallback` answers).
   * @throws {@link TimeoutError} / {@link DeadlineExceededError} when the call runs out of time.
   * @example
   * ```ts
   * const user = await breaker.fire(userId);
   * ```
   */
  fire(...args: A): Promise<R> {
    return this.fireArgs(undefined, args);
  }

  /**
   * Like {@link CircuitBreaker.fire}, with a caller's signal.
   *
   * @example
   * ```ts
   * const user = await breaker.fireWith({ signal: req.signal }, userId);
   * ```
   */
  fireWith(options: ExecuteOptions, ...args: A): Promise<R> {
    return this.fireArgs(options.signal, args);
  }

  private fireArgs(signal: AbortSignal | undefined, args: A): Promise<R> {
    const fn = this.fn;
    if (fn === undefined) {
      return Promise.reject(new ConfigurationError('fn', `is not set on breaker "${this.name}": use execute(fn) or createCircuitBreaker(fn, options)`));
    }
    const fallback = this.fallback;
    // A function that declares no parameter cannot read a signal: the wrapper then
    // declares none either, so no AbortSignal is created for it.
    const call: (signal: AbortSignal) => R | Promise<R> =
      args.length === 0
        ? (fn as unknown as (signal: AbortSignal) => R | Promise<R>)
        : fn.length === 0
          ? () => fn(NEVER_ABORTED, ...args)
          : (callSignal) => fn(callSignal, ...args);
    return this.run(call, signal, fallback === undefined ? undefined : (error) => fallback(error, ...args));
  }

  /**
   * Runs any `fn` under this breaker (its state, counts and timeout), which is
   * how the breaker takes part in `compose`. The `fallback` option is not used here.
   * As with `withTimeout`, `fn`'s signal is only created when `fn` declares a parameter.
   *
   * @example
   * ```ts
   * const rows = await breaker.execute((signal) => runQuery(q.abortSignal(signal)), { signal });
   * ```
   */
  execute<T>(fn: (signal: AbortSignal) => T | Promise<T>, options?: ExecuteOptions): Promise<T> {
    return this.run(fn, options?.signal, undefined);
  }

  /**
   * Counts, rolling window, latency percentiles and state.
   *
   * @example
   * ```ts
   * const { state, failures, latencyMs } = breaker.stats();
   * ```
   */
  stats(): CircuitBreakerStats {
    return {
      name: this.name,
      state: this.currentState,
      ...this.outcomes.counts(),
      window: this.opossum.windowCounts(),
      latencyMs: this.outcomes.latencySummary(),
    };
  }

  /** Called when the breaker opens. @example `const off = breaker.onOpen(() => log.warn('redis breaker open'))` */
  onOpen(listener: () => void): Disposer {
    return this.events.open.add(listener);
  }
  /** Called when the breaker starts admitting trial calls. @example `breaker.onHalfOpen(() => log.info('probing'))` */
  onHalfOpen(listener: () => void): Disposer {
    return this.events.halfOpen.add(listener);
  }
  /** Called when the breaker closes again. @example `breaker.onClose(() => log.info('recovered'))` */
  onClose(listener: () => void): Disposer {
    return this.events.close.add(listener);
  }
  /** Called when a call runs out of time (also counted as a failure). @example `breaker.onTimeout((err, ms) => metrics.timeouts.inc())` */
  onTimeout(listener: (error: unknown, latencyMs: number) => void): Disposer {
    return this.events.timeout.add(listener);
  }
  /** Called when a call is refused because the breaker is open. @example `breaker.onReject(() => metrics.shed.inc())` */
  onReject(listener: (error: CircuitOpenError) => void): Disposer {
    return this.events.reject.add(listener);
  }
  /** Called for every failure that counts towards opening. @example `breaker.onFailure((err) => log.warn({ err }))` */
  onFailure(listener: (error: unknown, latencyMs: number) => void): Disposer {
    return this.events.failure.add(listener);
  }
  /** Called for every successful call. @example `breaker.onSuccess((ms) => histogram.observe(ms))` */
  onSuccess(listener: (latencyMs: number) => void): Disposer {
    return this.events.success.add(listener);
  }
  /** Called when the fallback answered instead of an error. @example `breaker.onFallback((err) => log.info('served fallback'))` */
  onFallback(listener: (error: unknown) => void): Disposer {
    return this.events.fallback.add(listener);
  }

  /**
   * Stops the breaker: removes it from the registry, detaches it from the shared
   * clock and clears its timers. Later calls fail with `ConfigurationError`.
   *
   * @example
   * ```ts
   * app.addHook('onClose', async () => breaker.dispose());
   * ```
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.opossum.dispose();
    unregisterCircuitBreaker(this);
    this.events.clear();
  }

  private run<T>(fn: (signal: AbortSignal) => T | Promise<T>, signal: AbortSignal | undefined, fallback: ((error: unknown) => T | Promise<T>) | undefined): Promise<T> {
    if (this.disposed) return Promise.reject(new ConfigurationError('breaker', `"${this.name}" was disposed`));
    const callerSignal = signal === NEVER_ABORTED ? undefined : signal;
    if (callerSignal?.aborted) return Promise.reject(abortError(callerSignal, this.name));
    // Below the deadline floor nothing starts and nothing is counted.
    const scope = currentScope();
    const left = budgetLeft(scope, this.name, DEFAULT_DEADLINE_FLOOR_MS);
    if (typeof left !== 'number') return Promise.reject(left);
    const state = this.currentState;
    if (state === 'open') return this.reject(fallback);
    if (state === 'half-open') {
      if (!this.trials.admit()) return this.reject(fallback);
      const started = performance.now();
      this.outcomes.calls++;
      return this.trials.run(fn, scope, left, callerSignal, started, fallback);
    }
    // Closed: the call runs here, not through opossum's fire() (~1.2 µs per call on Node 20
    // with AsyncLocalStorage active: two events, a Promise and a .then/.catch pair, two
    // Date.now(), a semaphore); its outcome is counted in opossum's rolling window, the
    // counts fire() would add, and a failure gets opossum's open rule (see OpossumCore.recordFailure).
    const started = performance.now();
    this.outcomes.calls++;
    this.window.fire();
    const generation = this.generation;
    const readsSignal = fn.length > 0;
    if (this.timeoutMs !== Infinity || scope !== undefined) {
      return new BreakerCall<T>(this.accounting, generation, fallback, this.name, this.timeoutMs, left, scope, callerSignal).run(fn, readsSignal, started);
    }
    // No own timeout and no deadline: the caller's signal is the only reason to stop, no timer, no own signal.
    let result: T | Promise<T>;
    try {
      result = fn(readsSignal ? (callerSignal ?? NEVER_ABORTED) : NEVER_ABORTED);
    } catch (err) {
      return this.closedFailed(err, generation, started, fallback);
    }
    return (result instanceof Promise ? result : Promise.resolve(result)).then(
      (value) => {
        this.closedSucceeded(generation, started);
        return value;
      },
      (error: unknown) => this.closedFailed(error, generation, started, fallback),
    );
  }

  private closedSucceeded(generation: number, started: number): void {
    if (generation === this.generation) this.window.success();
    this.outcomes.settled('success', undefined, started);
  }

  private closedFailed<T>(error: unknown, generation: number, started: number, fallback: ((error: unknown) => T | Promise<T>) | undefined): Promise<T> {
    const outcome = this.outcomes.classify(error);
    // A result from before the last transition belongs to a window that is gone.
    if (generation === this.generation) {
      if (outcome === 'failure') this.opossum.recordFailure(this.currentState === 'closed');
      // As opossum's fire() would with an errorFilter: errors that are not failures (filtered, caller aborts) count as successes.
      else this.window.success();
    }
    return this.outcomes.failed(error, outcome, started, fallback);
  }

  private reject<T>(fallback: ((error: unknown) => T | Promise<T>) | undefined): Promise<T> {
    const retryAfterMs = this.currentState === 'open' ? this.opossum.retryAfterMs() : 0;
    return this.outcomes.rejected(new CircuitOpenError(this.name, Math.round(retryAfterMs)), fallback);
  }

  private transition(to: OpossumTransition): void {
    const from = this.currentState;
    this.generation++;
    this.trials.reset();
    if (to === 'open') {
      this.currentState = 'open';
    } else if (to === 'half-open') {
      this.currentState = 'half-open';
    } else {
      this.currentState = 'closed';
      // Failures from before the breaker opened must not reopen it on the next error.
      this.opossum.forget();
    }
    this.events.transitioned(this.name, from, this.currentState);
  }
}

/**
 * Creates a named {@link CircuitBreaker} around `fn` and lists it in the
 * registry ({@link listCircuitBreakers}) until `dispose()`.
 *
 * `fn` receives a fresh per-call `AbortSignal` (aborted on the call's timeout,
 * the caller's abort or the ambient deadline) followed by the `fire` arguments.
 * The signal is created only when `fn` declares a parameter (an `fn` written
 * `() => …` gets a shared never-aborting one; creating a signal costs ~4 µs on
 * Node 20). Each call's limit is `min(timeoutMs, remaining deadline)`, one entry on
 * supaguard's shared deadline timer.
 *
 * @param fn - The protected operation.
 * @param options - See {@link CircuitBreakerOptions}; `name` is required.
 * @throws {@link ConfigurationError} for an invalid option.
 * @example
 * ```ts
 * const jwks = createCircuitBreaker((signal, url: string) => fetch(url, { signal }).then((r) => r.json()), {
 *   name: 'jwks',
 *   timeoutMs: 2_000,
 *   halfOpenTrials: 3,
 *   errorFilter: (err) => err instanceof NotFoundError,
 * });
 * jwks.onOpen(() => log.warn('JWKS endpoint failing; serving cached keys'));
 * const keys = await jwks.fire(jwksUrl);
 * ```
 */
export function createCircuitBreaker<A extends unknown[], R>(
  fn: (signal: AbortSignal, ...args: A) => R | Promise<R>,
  options: CircuitBreakerOptions<A, R>,
): CircuitBreaker<A, Awaited<R>>;
/**
 * Creates a named breaker without a bound `fn`, for {@link compose} and
 * {@link CircuitBreaker.execute}; its `fire` rejects with `ConfigurationError`.
 *
 * @example
 * ```ts
 * const redisBreaker = createCircuitBreaker({ name: 'redis', timeoutMs: 50 });
 * const v = await redisBreaker.execute((signal) => redis.get(key));
 * ```
 */
export function createCircuitBreaker(options: CircuitBreakerOptions<[], never>): CircuitBreaker<[], never>;
export function createCircuitBreaker<A extends unknown[], R>(
  fnOrOptions: ((signal: AbortSignal, ...args: A) => R | Promise<R>) | CircuitBreakerOptions<[], never>,
  maybeOptions?: CircuitBreakerOptions<A, R>,
): CircuitBreaker<A, Awaited<R>> | CircuitBreaker<[], never> {
  if (typeof fnOrOptions !== 'function') return new CircuitBreaker<[], never>(undefined, fnOrOptions);
  return new CircuitBreaker<A, Awaited<R>>(
    fnOrOptions as (signal: AbortSignal, ...args: A) => Awaited<R> | Promise<Awaited<R>>,
    maybeOptions as unknown as CircuitBreakerOptions<A, Awaited<R>>,
  );
}
