import { EventEmitter } from 'node:events';

/** One shared ticking clock per interval, driving the rolling windows of every breaker that uses that interval. */
interface Clock {
  readonly emitter: EventEmitter;
  readonly timer: ReturnType<typeof setInterval>;
  users: number;
}

// opossum starts a bucket-rotation interval (and a snapshot interval) per breaker;
// with thousands of breakers that is thousands of timers. Breakers with the same
// bucket length share one unref'd interval instead, started by the first user
// and stopped by the last.
const clocks = new Map<number, Clock>();

/** Event the shared clock emits on each tick; opossum listens for `rotate`. @example `emitter.emit(ROTATE_EVENT)` */
export const ROTATE_EVENT = 'rotate';

/**
 * Takes a reference to the shared clock ticking every `intervalMs`. Pass the
 * returned emitter as opossum's `rotateBucketController`; call `release` when the
 * breaker is disposed.
 *
 * @example
 * ```ts
 * const { emitter, release } = acquireSharedClock(1_000);
 * const breaker = new CircuitBreaker(action, { rotateBucketController: emitter });
 * // later
 * release();
 * ```
 */
export function acquireSharedClock(intervalMs: number): { emitter: EventEmitter; release: () => void } {
  let clock = clocks.get(intervalMs);
  if (clock === undefined) {
    const emitter = new EventEmitter();
    // Thousands of breakers may listen; that is the point, not a leak.
    emitter.setMaxListeners(0);
    const timer = setInterval(() => emitter.emit(ROTATE_EVENT), intervalMs);
    timer.unref();
    clock = { emitter, timer, users: 0 };
    clocks.set(intervalMs, clock);
  }
  clock.users++;
  const acquired = clock;
  let released = false;
  return {
    emitter: acquired.emitter,
    release: () => {
      if (released) return;
      released = true;
      acquired.users--;
      if (acquired.users === 0 && clocks.get(intervalMs) === acquired) {
        clearInterval(acquired.timer);
        clocks.delete(intervalMs);
      }
    },
  };
}

/**
 * Number of shared clocks currently ticking (one per distinct bucket length in use).
 *
 * @example
 * ```ts
 * expect(activeSharedClocks()).toBe(1);
 * ```
 */
export function activeSharedClocks(): number {
  return clocks.size;
}
