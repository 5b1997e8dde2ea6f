/** Per-call options every supaguard policy accepts. @example `await policy.execute(fn, { signal: req.signal })` */
export interface ExecuteOptions {
  /** A caller's signal; when it aborts, the signal passed to the work aborts too. */
  signal?: AbortSignal | undefined;
}

/**
 * Something that runs work under a rule — a timeout, a circuit breaker, a
 * bulkhead, or a composition of them. `fn` receives the signal it must honour.
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
