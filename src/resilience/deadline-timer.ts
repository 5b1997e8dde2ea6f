/**
 * Something waiting for a point in time on the shared deadline timer. The
 * fields are owned by this module; `expire()` is called once when the time comes
 * (never after {@link cancelTimer}).
 */
export interface TimerEntry {
  /** Absolute expiry on the `performance.now()` clock. */
  timerAt: number;
  timerPrev: TimerEntry | undefined;
  timerNext: TimerEntry | undefined;
  timerList: TimerList | undefined;
  expire(): void;
}

type SetTimeout = typeof globalThis.setTimeout;
type ClearTimeout = typeof globalThis.clearTimeout;
type NodeTimer = ReturnType<SetTimeout>;

// Node caps a delay at 2^31 - 1 ms (longer ones fire after 1 ms with a warning);
// an entry further away is re-armed when the capped timer fires.
const MAX_DELAY_MS = 2_147_483_647;

/**
 * All pending entries of one duration. Entries of the same duration are added in
 * expiry order (now + ms only grows), so the list is a FIFO: append is O(1),
 * cancel is an O(1) unlink, and only the head needs a Node timer. This is how
 * Node's own timer lists work, minus one `Timeout` object and its bookkeeping per call.
 */
class TimerList {
  head: TimerEntry | undefined = undefined;
  tail: TimerEntry | undefined = undefined;
  /** The armed Node timer (one per list), or undefined when none is armed. */
  timer: NodeTimer | undefined = undefined;
  /** The expiry (`performance.now()` clock) the armed timer was set for. */
  armedFor = 0;
  readonly onTimeout: () => void;

  constructor(
    readonly clock: TimerClock,
    readonly ms: number,
  ) {
    this.onTimeout = () => this.fire();
  }

  arm(delayMs: number, at: number): void {
    this.armedFor = at;
    const timer = this.clock.setTimeout.call(globalThis, this.onTimeout, Math.min(MAX_DELAY_MS, Math.max(1, delayMs)));
    // A pending deadline must never keep the process alive by itself.
    (timer as { unref?: () => void }).unref?.();
    this.timer = timer;
  }

  private fire(): void {
    this.timer = undefined;
    try {
      // Entries up to the expiry this timer was armed for are due by the timer's own clock,
      // even if performance.now() reads a little earlier (libuv rounds to the millisecond)
      // or is another clock (fake timers installed or removed in between).
      const now = Math.max(performance.now(), this.armedFor);
      for (let entry = this.head; entry !== undefined && entry.timerAt <= now; entry = this.head) {
        unlink(entry);
        entry.expire();
      }
    } finally {
      // The timer fired for an entry that may have been cancelled since: re-arm for
      // the current head (a cancelled head costs no clearTimeout, only this check).
      const head = this.head;
      if (head !== undefined) {
        if (this.timer === undefined) this.arm(head.timerAt - performance.now(), head.timerAt);
      } else if (this.timer === undefined && this.clock.lists.get(this.ms) === this) {
        this.clock.lists.delete(this.ms);
      }
    }
  }
}

/** The lists driven by one `setTimeout` implementation (the real one, or a test's fake). */
class TimerClock {
  readonly lists = new Map<number, TimerList>();
  constructor(
    readonly setTimeout: SetTimeout,
    readonly clearTimeout: ClearTimeout,
  ) {}
}

// Timers are looked up at call time, not captured at import, so fake timers in tests
// apply: each setTimeout implementation gets its own clock (and a test's fake clock is
// dropped with its fake setTimeout).
const clocks = new WeakMap<SetTimeout, TimerClock>();
let current: TimerClock | undefined;

function clockNow(): TimerClock {
  const setTimeoutNow = globalThis.setTimeout;
  if (current !== undefined && current.setTimeout === setTimeoutNow) return current;
  let clock = clocks.get(setTimeoutNow);
  if (clock === undefined) {
    clock = new TimerClock(setTimeoutNow, globalThis.clearTimeout);
    clocks.set(setTimeoutNow, clock);
  }
  current = clock;
  return clock;
}

function unlink(entry: TimerEntry): void {
  const list = entry.timerList;
  if (list === undefined) return;
  const { timerPrev: prev, timerNext: next } = entry;
  if (prev === undefined) list.head = next;
  else prev.timerNext = next;
  if (next === undefined) list.tail = prev;
  else next.timerPrev = prev;
  entry.timerPrev = undefined;
  entry.timerNext = undefined;
  entry.timerList = undefined;
}

/**
 * Schedules `entry.expire()` for `ms` after `now` (a `performance.now()` reading)
 * on the shared, unref'd deadline timer: one Node timer per distinct duration,
 * however many calls are pending. Entries fire in expiry order per duration.
 *
 * @example
 * ```ts
 * scheduleTimer(call, 1_000, performance.now());
 * // on settle:
 * cancelTimer(call);
 * ```
 */
export function scheduleTimer(entry: TimerEntry, ms: number, now: number): void {
  const clock = clockNow();
  let list = clock.lists.get(ms);
  if (list === undefined) {
    list = new TimerList(clock, ms);
    clock.lists.set(ms, list);
  }
  entry.timerAt = now + ms;
  entry.timerList = list;
  entry.timerNext = undefined;
  const tail = list.tail;
  entry.timerPrev = tail;
  if (tail === undefined) list.head = entry;
  else tail.timerNext = entry;
  list.tail = entry;
  if (list.timer === undefined) list.arm(ms, entry.timerAt);
}

/**
 * Removes `entry` from the shared timer; harmless when it already fired or was
 * never scheduled. An emptied list keeps its armed Node timer (re-used by the
 * next entry of that duration, dropped when it fires), except for a fractional
 * duration, which is unlikely to be used again: its timer is cleared at once.
 *
 * @example
 * ```ts
 * cancelTimer(call);
 * ```
 */
export function cancelTimer(entry: TimerEntry): void {
  const list = entry.timerList;
  if (list === undefined) return;
  unlink(entry);
  if (list.head === undefined && !Number.isInteger(list.ms) && list.timer !== undefined) {
    list.clock.clearTimeout.call(globalThis, list.timer);
    list.timer = undefined;
    if (list.clock.lists.get(list.ms) === list) list.clock.lists.delete(list.ms);
  }
}
