/**
 * A small consecutive-failure circuit breaker for cache internals (the remote
 * layer and the loader). It is synchronous and allocation-free on the closed
 * path, so "is Redis down?" costs nanoseconds, and a half-open state lets
 * exactly one probe through at a time.
 *
 * @module
 */

/** Breaker states. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Options of {@link FailureBreaker}. */
export interface FailureBreakerOptions {
  /** Consecutive failures that open the breaker. @default 1 */
  failureThreshold?: number;
  /** Milliseconds the breaker stays open before a probe is allowed. @default 1000 */
  resetMs?: number;
}

/**
 * Consecutive-failure breaker: `tryAcquire()` says whether a call may run;
 * report its outcome with `success()` / `failure()`.
 *
 * @example
 * ```ts
 * const breaker = new FailureBreaker({ failureThreshold: 1, resetMs: 1000 });
 * if (breaker.tryAcquire()) { try { await call(); breaker.success(); } catch { breaker.failure(); } }
 * ```
 */
export class FailureBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openUntil = 0;
  private probing = false;
  private readonly threshold: number;
  private readonly resetMs: number;
  private readonly listeners = new Set<(state: BreakerState) => void>();

  constructor(options: FailureBreakerOptions = {}) {
    this.threshold = Math.max(1, options.failureThreshold ?? 1);
    this.resetMs = Math.max(1, options.resetMs ?? 1000);
  }

  /** The current state. */
  get state(): BreakerState {
    return this.current;
  }

  /** True when a call may run now; in half-open, only one probe at a time. */
  tryAcquire(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open') {
      if (performance.now() < this.openUntil) return false;
      this.transition('half-open');
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  /** Milliseconds until a probe is allowed (0 when closed or half-open). */
  retryAfterMs(): number {
    return this.current === 'open' ? Math.max(0, this.openUntil - performance.now()) : 0;
  }

  /** Reports a successful call. */
  success(): void {
    this.failures = 0;
    this.probing = false;
    if (this.current !== 'closed') this.transition('closed');
  }

  /** Reports a failed call. */
  failure(): void {
    this.probing = false;
    this.failures++;
    if (this.current === 'half-open' || this.failures >= this.threshold) {
      this.openUntil = performance.now() + this.resetMs;
      if (this.current !== 'open') this.transition('open');
    }
  }

  /** Reports a call that says nothing about the backend (e.g. the request deadline ran out): frees a probe slot. */
  release(): void {
    this.probing = false;
  }

  /** Lets the next call probe at once (e.g. the backend reported it is ready again). */
  allowProbe(): void {
    if (this.current === 'open') this.openUntil = 0;
  }

  /** Listens to state changes; returns a disposer. */
  onStateChange(listener: (state: BreakerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private transition(state: BreakerState): void {
    this.current = state;
    for (const listener of this.listeners) listener(state);
  }
}
