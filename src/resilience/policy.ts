/** Per-call options every supaguard policy accepts. @example `await policy.execute(fn, { signal: req.signal })` */
export interface ExecuteOptions {
  /** A caller's signal; when it aborts, the signal passed to the work aborts too. */
  signal?: AbortSignal | undefined;
}

/**
 * Something that runs work under a rule — a timeout, a circuit breaker, a
 * bulkhead, or a composition of them. `fn` receives the signal it must honour.
 * supaguard's policies create that signal only when `fn` declares a parameter;
 * a `fn` written `() => …` gets a shared signal that never aborts (declare the
 * parameter if you read it through rest parameters or `arguments`).
 *
 * @example
 * ```ts
 * const policy: ResiliencePolicy = createBulkhead({ concurrency: 10, queue: 50 });
 * const rows = await policy.execute((signal) => pool.query({ text: sql, signal }));
 * ```
 */
export interface ResiliencePolicy {
  execute<T>(fn: (signal: AbortSignal) => T | Promise<T>, options?: ExecuteOptions): Promise<T>;
}

// supaguard policies that settle by themselves (own limit, caller's signal, deadline)
// without being told that an enclosing layer gave up: timeouts and breakers.
const selfSettling = new WeakSet<ResiliencePolicy>();

/**
 * Marks `policy` as one that settles by itself (see {@link settlesOnItsOwn}).
 *
 * @example
 * ```ts
 * markSelfSettling(breaker);
 * ```
 */
export function markSelfSettling<P extends ResiliencePolicy>(policy: P): P {
  selfSettling.add(policy);
  return policy;
}

/**
 * True for supaguard timeouts and breakers: nothing in them waits for a slot, so
 * `compose` need not create a signal just to release them when an outer layer gives up.
 *
 * @example
 * ```ts
 * settlesOnItsOwn(createTimeout({ ms: 100 })); // true
 * ```
 */
export function settlesOnItsOwn(policy: ResiliencePolicy): boolean {
  return selfSettling.has(policy);
}
