import type { CircuitOpenError } from '../errors.js';
import { channels, publish } from '../observe/channels.js';
import type { CircuitState } from './circuit-breaker-options.js';
import { Listeners } from './listeners.js';

/**
 * The listener lists of one circuit breaker, one per event its `on…` methods
 * subscribe to, so `dispose()` can drop every listener at once; a state change
 * also goes to the `supaguard:breaker:state` diagnostics channel.
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

  /** Tells the listeners of the state the breaker entered, then publishes the change (if it is one) on `supaguard:breaker:state`. */
  transitioned(name: string, from: CircuitState, to: CircuitState): void {
    if (to === 'open') this.open.emit();
    else if (to === 'half-open') this.halfOpen.emit();
    else this.close.emit();
    if (from !== to) publish(channels.breakerState, { name, from, to });
  }

  /** Removes every listener of every event. */
  clear(): void {
    for (const l of [this.open, this.halfOpen, this.close, this.timeout]) l.clear();
    for (const l of [this.reject, this.failure, this.success, this.fallback]) l.clear();
  }
}
