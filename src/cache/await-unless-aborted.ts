import { abortError } from '../resilience/deadline.js';

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
