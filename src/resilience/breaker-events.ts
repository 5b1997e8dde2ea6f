import type { CircuitOpenError } from '../errors.js';
import { Listeners } from './listeners.js';

/**
 * The listener lists of one circuit breaker, one per event its `on…` methods
 * subscribe to, so `dispose()` can drop every listener at once.
 *
 * @example
 * ```ts
 * const events = new BreakerEvents();
 * const off = events.open.add(() => log.warn('redis breaker open'));
 * events.open.emit();
 * off();
 * ```
 */
export class BreakerEvents {
  readonly open = new Listeners<[]>();
  readonly halfOpen = new Listeners<[]>();
  readonly close = new Listeners<[]>();
  readonly timeout = new Listeners<[error: unknown, latencyMs: number]>();
  readonly reject = new Listeners<[error: CircuitOpenError]>();
  readonly failure = new Listeners<[error: unknown, latencyMs: number]>();
  readonly success = new Listeners<[latencyMs: number]>();
  readonly fallback = new Listeners<[error: unknown]>();

  /** Removes every listener of every event. */
  clear(): void {
    for (const l of [this.open, this.halfOpen, this.close, this.timeout]) l.clear();
    for (const l of [this.reject, this.failure, this.success, this.fallback]) l.clear();
  }
}
