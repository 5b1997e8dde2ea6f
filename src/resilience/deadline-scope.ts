import { AsyncLocalStorage } from 'node:async_hooks';
import { AbortedError, DeadlineExceededError, isSupaguardError } from '../errors.js';
import { Cancellation } from './cancellation.js';
import { cancelTimer, scheduleTimer } from './deadline-timer.js';
import { NEVER_ABORTED } from './never-aborted.js';

/**
 * Converts an abort reason into the error a supaguard wrapper throws: supaguard
 * errors (a parent's `DeadlineExceededError`) pass through, anything else becomes
 * an {@link AbortedError} carrying the reason as `cause`.
 *
 * @example
 * ```ts
 * reject(abortErrorFromReason(signal.reason, 'loadProfile'));
 * ```
 */
export function abortErrorFromReason(reason: unknown, operation: string): Error {
  if (isSupaguardError(reason)) return reason;
  return new AbortedError(operation, { cause: reason });
}

/**
 * The argument supaguard passes as `fn`'s signal: the call's own (created now, if
 * it was not yet) when `fn` declares a parameter, else the shared never-aborting
 * signal — a function with no declared parameter cannot read it (except through
 * `arguments` or rest parameters, which the docs ask to avoid).
 *
 * @example
 * ```ts
 * fn(signalFor(fn, call));
 * ```
 */
export function signalFor(fn: { length: number }, call: Cancellation): AbortSignal {
  return fn.length === 0 ? NEVER_ABORTED : call.signal;
}

/**
 * The deadline of one `withDeadline` call, held in AsyncLocalStorage for the code
 * it runs. Its `AbortSignal` is created only when read (`deadlineSignal()`, a
 * `fn` that declares the parameter, a wrapper that hands it on); inner supaguard
 * calls and nested deadlines subscribe to the scope itself.
 *
 * @example
 * ```ts
 * const scope = currentScope();
 * if (scope !== undefined) checkScope(scope, 'redis.get');
 * ```
 */
export class DeadlineScope extends Cancellation {
  /** True once the `withDeadline` call settled: its timer is gone, nothing aborts it any more. */
  settled = false;
  private resolveRace: ((value: unknown) => void) | undefined = undefined;
  private rejectRace: ((error: unknown) => void) | undefined = undefined;

  constructor(
    /** Absolute deadline on the `performance.now()` clock. */
    readonly deadlineAt: number,
    readonly operation: string,
    private readonly parent: DeadlineScope | undefined,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    super();
  }

  /** Created on first read; already aborted with `DeadlineExceededError` when the deadline has passed. */
  override get signal(): AbortSignal {
    if (!this.aborted && !this.settled && performance.now() >= this.deadlineAt) this.expire();
    return super.signal;
  }

  override expire(): void {
    this.abort(new DeadlineExceededError(this.operation, 0));
  }

  override abort(reason: unknown): void {
    if (this.aborted) return;
    super.abort(reason);
    if (!this.settled) {
      this.finish();
      this.rejectRace?.(abortErrorFromReason(reason, this.operation));
    }
  }

  /**
   * Starts the timer (`timerMs` undefined: the enclosing deadline ends first and
   * its abort reaches this one), listens upstream, runs `fn` inside the scope and settles no later
   * than the deadline.
   */
  start<T>(fn: (signal: AbortSignal) => Promise<T> | T, timerMs: number | undefined, now: number): Promise<T> {
    if (timerMs !== undefined) scheduleTimer(this, timerMs, now);
    this.parent?.subscribe(this);
    this.callerSignal?.addEventListener('abort', this, { once: true });
    return new Promise<T>((resolve, reject) => {
      this.resolveRace = resolve as (value: unknown) => void;
      this.rejectRace = reject;
      let result: unknown;
      try {
        result = storage.run(this, invoke, fn, this);
      } catch (err) {
        this.failed(err);
        return;
      }
      if (this.settled) return;
      (result instanceof Promise ? result : Promise.resolve(result)).then(
        (value: unknown) => this.succeeded(value),
        (err: unknown) => this.failed(err),
      );
    });
  }

  private succeeded(value: unknown): void {
    if (this.settled) return;
    this.finish();
    // On success the signal stays live: a response body may still be read after fn returned.
    // Work fn left running that counted on this deadline's timer gets its own.
    this.releaseSubscribers();
    this.resolveRace?.(value);
  }

  /** The enclosing deadline this one ends with settled while this one still runs: it needs its own timer now. */
  override upstreamSettled(): void {
    if (this.settled || this.timerList !== undefined) return;
    const now = performance.now();
    scheduleTimer(this, Math.max(0, this.deadlineAt - now), now);
  }

  private failed(err: unknown): void {
    if (this.settled) return;
    this.finish();
    // Like Go's `defer cancel()`, on failure whatever fn left running under this deadline stops too.
    super.abort(err);
    this.rejectRace?.(err);
  }

  private finish(): void {
    this.settled = true;
    cancelTimer(this);
    this.parent?.unsubscribe(this);
    this.callerSignal?.removeEventListener('abort', this);
  }
}

function invoke<T>(fn: (signal: AbortSignal) => Promise<T> | T, scope: DeadlineScope): Promise<T> | T {
  return fn(signalFor(fn, scope));
}

// One store per process, shared by the ESM and CJS builds and duplicate installs,
// so a deadline set through one copy is honoured by the other.
const STORE_KEY = Symbol.for('supaguard.deadline');
const globalStore = globalThis as unknown as Record<symbol, AsyncLocalStorage<DeadlineScope> | undefined>;
const storage: AsyncLocalStorage<DeadlineScope> = (globalStore[STORE_KEY] ??= new AsyncLocalStorage<DeadlineScope>());

/**
 * The deadline the calling code runs under, or `undefined` outside `withDeadline`.
 *
 * @example
 * ```ts
 * const scope = currentScope();
 * ```
 */
export function currentScope(): DeadlineScope | undefined {
  return storage.getStore();
}

/**
 * Milliseconds left in `scope`, after checking it can still start work: throws
 * when the scope aborted or less than `floorMs` is left.
 *
 * @throws {@link DeadlineExceededError} below the floor (or the scope's own error after an abort).
 * @example
 * ```ts
 * const left = checkScope(scope, 'redis.get', 1);
 * ```
 */
export function checkScope(scope: DeadlineScope, operation: string, floorMs: number): number {
  const left = budgetLeft(scope, operation, floorMs);
  if (typeof left !== 'number') throw left;
  return left;
}

/**
 * Milliseconds left in `scope` for a call named `operation` (`Infinity` outside
 * a deadline), or the error that refuses the call (the scope aborted, or less
 * than `floorMs` is left). Returned, not thrown, so a hot path needs no try/catch.
 *
 * @example
 * ```ts
 * const left = budgetLeft(currentScope(), 'bulkhead', 1);
 * if (typeof left !== 'number') return Promise.reject(left);
 * ```
 */
export function budgetLeft(scope: DeadlineScope | undefined, operation: string, floorMs: number): number | Error {
  if (scope === undefined) return Infinity;
  if (scope.aborted) return abortErrorFromReason(scope.reason, operation);
  const left = scope.deadlineAt - performance.now();
  return left < floorMs ? new DeadlineExceededError(operation, left) : left;
}
