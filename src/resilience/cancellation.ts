import type { TimerEntry } from './deadline-timer.js';

/** Told when the {@link Cancellation} it subscribed to aborts. */
export interface AbortSubscriber {
  upstreamAborted(reason: unknown): void;
  /**
   * The deadline it subscribed to settled successfully: it will not abort any more,
   * and its timer is gone. Work still running under it (detached) that relied on
   * that timer schedules its own.
   */
  upstreamSettled?(): void;
}

/**
 * The abort state of one supaguard call or deadline, with its `AbortSignal`
 * created lazily, only when somebody reads `.signal`.
 *
 * Creating an `AbortSignal` costs ~4 µs on Node 20 (its constructor leaves the
 * object in dictionary mode) and ~70 ns on Node 24, while a call of an
 * already-resolved function costs ~0.2 µs: an eager child signal per call would be
 * most of a wrapper's overhead. So the state lives here, inner supaguard calls
 * subscribe to it directly ({@link Cancellation.subscribe}, a Set entry, no event
 * listener), and a real signal is only made for code that can observe it. A signal
 * made after the abort comes back already aborted, with the same reason.
 *
 * It is also a {@link TimerEntry} (for the shared deadline timer) and an
 * `EventListener` object (`handleEvent`), so a call needs no closure to listen to
 * a caller's signal or to wait for its timer.
 *
 * @example
 * ```ts
 * class Call extends Cancellation {
 *   expire(): void {
 *     this.abort(new TimeoutError({ operation: 'x', elapsedMs: 10, timeoutMs: 10 }));
 *   }
 * }
 * ```
 */
export abstract class Cancellation implements TimerEntry, AbortSubscriber {
  aborted = false;
  reason: unknown = undefined;
  private controller: AbortController | undefined = undefined;
  private subscribers: Set<AbortSubscriber> | undefined = undefined;
  timerAt = 0;
  timerPrev: TimerEntry | undefined = undefined;
  timerNext: TimerEntry | undefined = undefined;
  timerList: TimerEntry['timerList'] = undefined;

  /** The `AbortSignal` of this call, created on first read. */
  get signal(): AbortSignal {
    let controller = this.controller;
    if (controller === undefined) {
      controller = this.controller = new AbortController();
      if (this.aborted) controller.abort(this.reason);
    }
    return controller.signal;
  }

  /** True once `.signal` has been read (a real `AbortSignal` exists). */
  get hasSignal(): boolean {
    return this.controller !== undefined;
  }

  /** Aborts once: records the reason, aborts the signal if it exists, then tells every subscriber. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const subscribers = this.subscribers;
    if (subscribers === undefined) return;
    this.subscribers = undefined;
    for (const subscriber of subscribers) subscriber.upstreamAborted(reason);
  }

  /** Registers `subscriber` for this abort (it must not be aborted yet). */
  subscribe(subscriber: AbortSubscriber): void {
    (this.subscribers ??= new Set()).add(subscriber);
  }

  /** Removes `subscriber`; harmless when it was not registered. */
  unsubscribe(subscriber: AbortSubscriber): void {
    this.subscribers?.delete(subscriber);
  }

  /** Tells every subscriber this will never abort (see {@link AbortSubscriber.upstreamSettled}) and drops them. */
  protected releaseSubscribers(): void {
    const subscribers = this.subscribers;
    if (subscribers === undefined) return;
    this.subscribers = undefined;
    for (const subscriber of subscribers) subscriber.upstreamSettled?.();
  }

  /** Number of subscribers (for leak tests). */
  get subscriberCount(): number {
    return this.subscribers?.size ?? 0;
  }

  /** An enclosing call or deadline aborted. */
  upstreamAborted(reason: unknown): void {
    this.abort(reason);
  }

  /** The deadline this subscribed to settled successfully (nothing to do by default). */
  upstreamSettled(): void {
    // Only calls that counted on the deadline's timer need to act.
  }

  /** A caller's `AbortSignal` this object listens to aborted (`EventListener` object form). */
  handleEvent(event: Event): void {
    this.upstreamAborted((event.target as AbortSignal).reason);
  }

  /** Called by the shared deadline timer when this call's time is up. */
  abstract expire(): void;
}
