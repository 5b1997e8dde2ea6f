import { ConfigurationError } from '../errors.js';
import { NEVER_ABORTED } from './never-aborted.js';
import { settlesOnItsOwn, type ExecuteOptions, type ResiliencePolicy } from './policy.js';

/**
 * Nests policies, the first outermost: `compose(bulkhead, breaker, timeout)`
 * runs `fn` under the timeout, inside the breaker, inside a bulkhead slot. Each
 * layer hands the next the signal it must honour, and every limit is bounded by
 * the ambient deadline.
 *
 * Recommended order, outermost first: `retry` (as a function around the
 * composition, only for idempotent work) → bulkhead → breaker → timeout. The
 * timeout sits inside the breaker so a timeout counts as a failure; the
 * bulkhead sits outside so it bounds everything, trial calls included; retry
 * sits outside the breaker so an open breaker stops the retries at once.
 *
 * @param policies - Timeouts, breakers, bulkheads or any {@link ResiliencePolicy}.
 * @throws {@link ConfigurationError} when a policy has no `execute` method.
 * @example
 * ```ts
 * const profiles = compose(
 *   createBulkhead({ concurrency: 20, queue: 100, queueTimeoutMs: 50, name: 'profiles' }),
 *   createCircuitBreaker({ name: 'profiles', timeoutMs: Infinity }), // the timeout below is the limit
 *   createTimeout({ ms: 300, operation: 'profiles.load' }),
 * );
 * const profile = await retry((signal) => profiles.execute((s) => loadProfile(id, s), { signal }), { idempotent: true });
 * ```
 */
export function compose(...policies: ResiliencePolicy[]): ResiliencePolicy {
  policies.forEach((policy, i) => {
    if (typeof policy?.execute !== 'function') throw new ConfigurationError(`policies[${i}]`, 'must have an execute(fn, options) method');
  });
  const layers = policies.slice();
  // innerWaits[i]: a layer inside layer i can hold a call back (a bulkhead queue) or is
  // not supaguard's, so it must get layer i's own signal to let go when layer i gives up.
  // Timeouts and breakers inside settle by themselves (their own limit, the caller's
  // signal, the deadline), so when fn cannot read a signal either (it declares no
  // parameter) no layer has to create one: each hands on the signal it was given.
  const innerWaits = layers.map((_, i) => layers.slice(i + 1).some((layer) => !settlesOnItsOwn(layer)));
  return {
    execute<T>(fn: (signal: AbortSignal) => T | Promise<T>, options?: ExecuteOptions): Promise<T> {
      if (layers.length === 0) return new Promise<T>((resolve) => resolve(fn(options?.signal ?? NEVER_ABORTED)));
      return runLayer(layers, innerWaits, fn, fn.length > 0, 0, options?.signal) as Promise<T>;
    },
  };
}

/** Runs layer `index` around the layers inside it and `fn` (a function, not a per-call closure). */
function runLayer<T>(
  layers: readonly ResiliencePolicy[],
  innerWaits: readonly boolean[],
  fn: (signal: AbortSignal) => T | Promise<T>,
  fnReadsSignal: boolean,
  index: number,
  signal: AbortSignal | undefined,
): T | Promise<T> {
  const layer = layers[index];
  if (layer === undefined) return fn(fnReadsSignal ? (signal ?? NEVER_ABORTED) : NEVER_ABORTED);
  const next =
    fnReadsSignal || innerWaits[index] === true
      ? (inner: AbortSignal) => runLayer(layers, innerWaits, fn, fnReadsSignal, index + 1, inner)
      : () => runLayer(layers, innerWaits, fn, fnReadsSignal, index + 1, signal);
  return layer.execute(next, signal === undefined ? undefined : { signal });
}
