import pTimeout from 'p-timeout';
import { ConfigurationError, DeadlineExceededError, TimeoutError } from '../errors.js';
import { abortError, resolveBudget } from './deadline.js';
import type { ResiliencePolicy } from './policy.js';

/** Options for {@link withTimeout}. */
export interface WithTimeoutOptions<T> {
  /**
   * The operation's own timeout in ms (`Infinity` for none). The ambient
   * deadline shortens it: the limit is `min(ms, remainingMs())`.
   */
  ms: number;
  /** A caller's signal; when it aborts, the signal passed to `fn` aborts too. */
  signal?: AbortSignal | undefined;
  /**
   * Called instead of throwing when the operation's own timeout passes; its
   * result becomes the result. Not called when the ambient deadline is the
   * limit (the request is over, nobody would read the value) or on an abort.
   */
  fallback?: ((error: TimeoutError) => T | Promise<T>) | undefined;
  /** Name carried by errors, e.g. `redis.get`. @default "operation" */
  operation?: string | undefined;
}

// Timers are looked up at call time (not captured at import) so fake timers in
// tests apply, and unref'd so a pending timeout never keeps the process alive.
const UNREF_TIMERS = {
  setTimeout: ((callback: () => void, ms: number) => {
    const timer = setTimeout(callback, ms);
    timer.unref?.();
    return timer;
  }) as unknown as typeof globalThis.setTimeout,
  clearTimeout: ((timer: ReturnType<typeof setTimeout> | undefined) => clearTimeout(timer)) as typeof globalThis.clearTimeout,
};

/**
 * Runs `fn(signal)` with a time limit that really cancels the work: the child
 * `signal` aborts when the limit passes or when `options.signal` (or the ambient
 * deadline) aborts, so `fetch`, database drivers and nested supaguard calls stop
 * too; it also aborts when `fn` fails, cancelling work `fn` left behind. The limit is `min(options.ms, remaining deadline budget)`; with less than
 * the floor (1 ms) left, it fails at once without calling `fn`. Built on
 * p-timeout; the timer is unref'd and cleared in `finally`, and every listener
 * added to a caller's signal is removed when the call settles.
 *
 * @param fn - The work; receives the child `AbortSignal`.
 * @param options - See {@link WithTimeoutOptions}.
 * @throws {@link TimeoutError} when `options.ms` passes first (unless `fallback` is given).
 * @throws {@link DeadlineExceededError} when the ambient deadline is the limit that passed, or is already spent.
 * @throws {@link AbortedError} when `options.signal` aborts with a non-supaguard reason.
 * @throws {@link ConfigurationError} when `options.ms` is not a positive number.
 * @example
 * ```ts
 * const profile = await withTimeout((signal) => fetch(`${api}/profile/${id}`, { signal }).then((r) => r.json()), {
 *   ms: 200,
 *   operation: 'profile.fetch',
 *   fallback: () => ({ id, name: 'unknown' }),
 * });
 * ```
 */
export async function withTimeout<T>(fn: (signal: AbortSignal) => T | Promise<T>, options: WithTimeoutOptions<T>): Promise<T> {
  const ms = options.ms;
  if (typeof ms !== 'number' || !(ms > 0)) {
    throw new ConfigurationError('ms', 'must be a positive number of milliseconds (Infinity for none)');
  }
  const operation = options.operation ?? 'operation';
  const callerSignal = options.signal;
  if (callerSignal?.aborted) throw abortError(callerSignal, operation);
  const budget = resolveBudget(ms, operation);

  const controller = new AbortController();
  const signal = controller.signal;
  const onUpstreamAbort = (event: Event): void => controller.abort((event.target as AbortSignal).reason);
  callerSignal?.addEventListener('abort', onUpstreamAbort, { once: true });
  budget.signal?.addEventListener('abort', onUpstreamAbort, { once: true });

  const started = performance.now();
  let ownTimeout: TimeoutError | undefined;
  let timed: ReturnType<typeof pTimeout<T>> | undefined;
  try {
    const work = new Promise<T>((resolve) => resolve(fn(signal))); // a synchronous throw becomes a rejection
    // p-timeout builds a TimeoutError on every call (to keep its stack) that supaguard
    // never uses: the fallback below throws our own. Capturing that stack is the single
    // costliest step of a successful call, so it is skipped for this synchronous call only.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      timed = pTimeout(work, {
        milliseconds: budget.ms,
        signal,
        customTimers: UNREF_TIMERS,
        fallback: () => {
          const error = budget.deadlineBound
            ? new DeadlineExceededError(operation, 0)
            : (ownTimeout = new TimeoutError({ operation, elapsedMs: Math.round(performance.now() - started), timeoutMs: Math.round(budget.ms) }));
          // Aborting the child signal is what stops the work itself.
          controller.abort(error);
          throw error;
        },
      });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    return await timed;
  } catch (err) {
    if (ownTimeout !== undefined && options.fallback !== undefined) return await options.fallback(ownTimeout);
    if (signal.aborted) throw abortError(signal, operation);
    // Like Go's `defer cancel()`, but only on failure: whatever fn started and left
    // running is cancelled too. (On success the signal stays live: a fetch body may
    // still be read after fn returned.)
    controller.abort(err);
    throw err;
  } finally {
    timed?.clear();
    callerSignal?.removeEventListener('abort', onUpstreamAbort);
    budget.signal?.removeEventListener('abort', onUpstreamAbort);
  }
}

/** Options for {@link createTimeout}. */
export interface TimeoutPolicyOptions {
  /** Own timeout in ms; the ambient deadline shortens it. */
  ms: number;
  /** Name carried by errors. @default "operation" */
  operation?: string | undefined;
}

/** A reusable {@link withTimeout} rule, for {@link compose}. */
export interface TimeoutPolicy extends ResiliencePolicy {
  readonly ms: number;
  readonly operation: string;
}

/**
 * A {@link withTimeout} rule as a policy, so it can be composed with a breaker
 * and a bulkhead. Put it innermost: its `TimeoutError` then counts as a breaker failure.
 *
 * @param options - See {@link TimeoutPolicyOptions}.
 * @throws {@link ConfigurationError} when `ms` is not a positive number.
 * @example
 * ```ts
 * const guarded = compose(createBulkhead({ concurrency: 10 }), breaker, createTimeout({ ms: 200, operation: 'profile' }));
 * const profile = await guarded.execute((signal) => loadProfile(id, signal));
 * ```
 */
export function createTimeout(options: TimeoutPolicyOptions): TimeoutPolicy {
  const ms = options?.ms;
  if (typeof ms !== 'number' || !(ms > 0)) throw new ConfigurationError('ms', 'must be a positive number of milliseconds (Infinity for none)');
  const operation = options.operation ?? 'operation';
  return {
    ms,
    operation,
    execute: (fn, executeOptions) => withTimeout(fn, { ms, operation, signal: executeOptions?.signal }),
  };
}
