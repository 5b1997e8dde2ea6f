import { DeadlineExceededError, TimeoutError } from '../errors.js';
import { Cancellation } from './cancellation.js';
import { abortErrorFromReason, type DeadlineScope } from './deadline-scope.js';
import { NEVER_ABORTED } from './never-aborted.js';
import { cancelTimer, scheduleTimer } from './deadline-timer.js';

/**
 * One `withTimeout` call (also a breaker call with a timeout): races `fn` against
 * its own timeout on the shared deadline timer, the ambient deadline (a
 * subscription to the scope, no timer of its own when the deadline is the
 * limit) and the caller's signal (this object is the listener). `fn`'s signal is
 * created only when `fn` declares a parameter.
 *
 * Not built on p-timeout any more: with no-op timers, p-timeout alone costs
 * ~2.5 µs per call on Node 20 with AsyncLocalStorage active (a Promise, an async
 * IIFE, `.finally`, and a `TimeoutError` built per call) and ~0.85 µs on Node 24,
 * against a 1 µs budget for the whole wrapper; this race costs one Promise and one `then`.
 *
 * @example
 * ```ts
 * const value = await new TimeoutCall('redis.get', 50, remaining, scope, callerSignal, undefined).run(fn);
 * ```
 */
export class TimeoutCall<T> extends Cancellation {
  private settled = false;
  private started = 0;
  private ownTimeout: TimeoutError | undefined = undefined;
  private resolve: ((value: T | PromiseLike<T>) => void) | undefined = undefined;
  private reject: ((error: unknown) => void) | undefined = undefined;

  constructor(
    readonly operation: string,
    /** The call's own limit (`Infinity` for none). */
    private readonly ownMs: number,
    /** What is left of the ambient deadline (`Infinity` outside one). */
    private readonly leftMs: number,
    private readonly scope: DeadlineScope | undefined,
    private readonly callerSignal: AbortSignal | undefined,
    private readonly fallback: ((error: TimeoutError) => T | Promise<T>) | undefined,
  ) {
    super();
  }

  /**
   * Calls `fn` and settles with its outcome, or with the first abort or timeout.
   *
   * @param readsSignal - `fn.length > 0`, when the caller already knows it.
   * @param now - `performance.now()`, when the caller already read it.
   */
  run(fn: (signal: AbortSignal) => T | Promise<T>, readsSignal: boolean = fn.length > 0, now: number = performance.now()): Promise<T> {
    this.started = now;
    const scope = this.scope;
    if (this.leftMs >= this.ownMs) {
      if (this.ownMs !== Infinity) scheduleTimer(this, this.ownMs, now);
    } else if (scope === undefined || scope.settled) {
      // A deadline given without a scope (passed explicitly), or one whose own timer is gone
      // (its withDeadline settled; this call runs detached): this call times it itself.
      scheduleTimer(this, this.leftMs, now);
    }
    // The deadline is the limit otherwise: its abort arrives through this subscription.
    scope?.subscribe(this);
    this.callerSignal?.addEventListener('abort', this, { once: true });
    return new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      let result: T | Promise<T>;
      try {
        result = fn(readsSignal ? this.signal : NEVER_ABORTED);
      } catch (err) {
        this.failed(err);
        return;
      }
      if (this.settled) return;
      (result instanceof Promise ? result : Promise.resolve(result)).then(
        (value: T) => this.succeeded(value),
        (err: unknown) => this.failed(err),
      );
    });
  }

  override expire(): void {
    this.abort(
      this.leftMs < this.ownMs
        ? new DeadlineExceededError(this.operation, 0)
        : (this.ownTimeout = new TimeoutError({
            operation: this.operation,
            elapsedMs: Math.round(performance.now() - this.started),
            timeoutMs: Math.round(this.ownMs),
          })),
    );
  }

  /** The deadline that was this call's limit settled while the call still runs: time it out on its own timer. */
  override upstreamSettled(): void {
    const scope = this.scope;
    if (this.settled || this.timerList !== undefined || scope === undefined || this.leftMs >= this.ownMs) return;
    const now = performance.now();
    scheduleTimer(this, Math.max(0, scope.deadlineAt - now), now);
  }

  override abort(reason: unknown): void {
    if (this.aborted) return;
    // Aborting the signal is what stops the work itself.
    super.abort(reason);
    if (this.settled) return;
    this.finish();
    const fallback = this.fallback;
    const ownTimeout = this.ownTimeout;
    if (ownTimeout !== undefined && reason === ownTimeout && fallback !== undefined) {
      try {
        this.resolve?.(fallback(ownTimeout));
      } catch (err) {
        this.reject?.(err);
      }
      return;
    }
    this.rejected(abortErrorFromReason(reason, this.operation));
  }

  /** When the call started (`performance.now()`). */
  protected get startedAt(): number {
    return this.started;
  }

  /** Settles the returned promise with `value` (a subclass may account for it first). */
  protected fulfilled(value: T): void {
    this.resolve?.(value);
  }

  /** Settles the returned promise with `error` (a subclass may account for it, or answer instead). */
  protected rejected(error: unknown): void {
    this.reject?.(error);
  }

  /** Lets a subclass settle with another outcome, e.g. a fallback's promise. */
  protected resolveWith(value: T | PromiseLike<T>): void {
    this.resolve?.(value);
  }

  private succeeded(value: T): void {
    if (this.settled) return;
    this.finish();
    // On success the signal stays live: a fetch body may still be read after fn returned.
    this.fulfilled(value);
  }

  private failed(err: unknown): void {
    if (this.settled) return;
    this.finish();
    // Like Go's `defer cancel()`, but only on failure: whatever fn started and left running stops too.
    super.abort(err);
    this.rejected(err);
  }

  private finish(): void {
    this.settled = true;
    cancelTimer(this);
    this.scope?.unsubscribe(this);
    this.callerSignal?.removeEventListener('abort', this);
  }
}
