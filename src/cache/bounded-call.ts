import { DeadlineExceededError, TimeoutError } from '../errors.js';
import { abortError, resolveBudget } from '../resilience/deadline.js';

const noop = (): void => undefined;

/**
 * Runs `fn` for at most `min(ownMs, remaining deadline)`: its signal aborts and
 * the returned promise rejects with `TimeoutError` (own limit) or
 * `DeadlineExceededError` (deadline) when time runs out, or with the deadline's
 * abort reason. The timer is cleared in `finally` and never holds the process.
 *
 * @param fn - The work; receives a signal to pass on.
 * @param ownMs - The operation's own limit (`Infinity` for none).
 * @param operation - Name used in errors.
 * @throws {@link TimeoutError} | {@link DeadlineExceededError} | {@link AbortedError}
 * @example
 * ```ts
 * const rows = await boundedCall((signal) => db.query(sql, { signal }), 200, 'authz.loader');
 * ```
 */
export async function boundedCall<T>(fn: (signal: AbortSignal) => Promise<T>, ownMs: number, operation: string): Promise<T> {
  const budget = resolveBudget(ownMs, operation);
  const controller = new AbortController();
  const parent = budget.signal;
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onParentAbort: (() => void) | undefined;
  const limit = new Promise<never>((_, reject) => {
    const fail = (err: Error): void => {
      controller.abort(err);
      reject(err);
    };
    if (Number.isFinite(budget.ms)) {
      timer = setTimeout(() => {
        const err = budget.deadlineBound
          ? new DeadlineExceededError(operation, 0)
          : new TimeoutError({ operation, elapsedMs: Math.round(performance.now() - started), timeoutMs: budget.ms });
        // Timers run before I/O in each loop turn: give a reply already sitting in the socket one poll phase to win,
        // so a busy event loop does not turn answered calls into timeouts.
        setImmediate(() => fail(err));
      }, budget.ms);
      timer.unref();
    }
    if (parent) {
      onParentAbort = () => fail(abortError(parent, operation));
      parent.addEventListener('abort', onParentAbort, { once: true });
    }
  });
  limit.catch(noop);
  try {
    const work = fn(controller.signal);
    // A late rejection after the limit won must not become unhandled.
    work.catch(noop);
    return timer === undefined && parent === undefined ? await work : await Promise.race([work, limit]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (parent && onParentAbort) parent.removeEventListener('abort', onParentAbort);
  }
}

/**
 * Awaits `promise` unless `signal` aborts first (the work itself keeps running
 * for other waiters, e.g. a shared single-flight load).
 *
 * @throws {@link AbortedError} (or the signal's supaguard reason) when `signal` aborts first.
 * @example
 * ```ts
 * const value = await awaitUnlessAborted(flight.promise, signal, 'authz.check');
 * ```
 */
export function awaitUnlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, operation: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortError(signal, operation));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, operation));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
