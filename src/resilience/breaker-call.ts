import type { DeadlineScope } from './deadline-scope.js';
import { TimeoutCall } from './timeout-call.js';

/** How a breaker accounts for a call that ran while closed. @example `{ succeeded: (g, t) => …, failed: (e, g, t, f) => … }` */
export interface ClosedAccounting {
  succeeded(generation: number, started: number): void;
  failed<T>(error: unknown, generation: number, started: number, fallback: ((error: unknown) => T | Promise<T>) | undefined): Promise<T>;
}

/**
 * A closed breaker's call with a time limit: the timeout race of
 * {@link TimeoutCall}, and the breaker's accounting on the same settle, so the
 * call needs no second promise (each costs ~0.1–0.3 µs with AsyncLocalStorage on Node 20).
 *
 * @example
 * ```ts
 * return new BreakerCall(accounting, generation, fallback, name, timeoutMs, left, scope, signal).run(fn, fn.length > 0, started);
 * ```
 */
export class BreakerCall<T> extends TimeoutCall<T> {
  constructor(
    private readonly accounting: ClosedAccounting,
    private readonly generation: number,
    private readonly breakerFallback: ((error: unknown) => T | Promise<T>) | undefined,
    operation: string,
    ownMs: number,
    leftMs: number,
    scope: DeadlineScope | undefined,
    callerSignal: AbortSignal | undefined,
  ) {
    super(operation, ownMs, leftMs, scope, callerSignal, undefined);
  }

  protected override fulfilled(value: T): void {
    this.accounting.succeeded(this.generation, this.startedAt);
    super.fulfilled(value);
  }

  protected override rejected(error: unknown): void {
    this.resolveWith(this.accounting.failed(error, this.generation, this.startedAt, this.breakerFallback));
  }
}
