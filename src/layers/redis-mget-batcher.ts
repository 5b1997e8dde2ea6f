import { DeadlineExceededError, TimeoutError } from '../errors.js';

/** Sends one MGET of `keys` (the layer adds its prefix) and resolves to its raw replies, in order. */
export type MgetSender = (keys: readonly string[]) => Promise<Array<Buffer | null>>;

/** What the layer does with each caller's outcome, inside the batch's own callback (no extra promise hop). */
export interface MgetOutcome<T> {
  /** Turns a caller's raw replies into its result (e.g. decoded entries). */
  decode(raws: Array<Buffer | null>): T;
  /** Called once per caller whose read failed (breaker accounting), before its promise rejects. */
  failed(err: unknown): void;
  /** Called once per caller whose read succeeded, before its promise resolves. */
  succeeded(): void;
}

interface Waiter {
  readonly keys: readonly string[];
  readonly resolve: (result: never) => void;
  readonly reject: (err: unknown) => void;
  /** The caller's continuation, run in the batch's callback (its result settles the caller's promise). */
  readonly onValue: ((result: never) => unknown) | undefined;
  readonly onError: ((err: unknown) => unknown) | undefined;
  /** `performance.now()` at which the caller's request deadline ends its wait, when sooner than the batch's. */
  readonly deadlineAt: number;
  settled: boolean;
}

/** One MGET in flight and the waiters it answers. */
interface Batch {
  readonly waiters: readonly Waiter[];
  readonly started: number;
  /** `performance.now()` after which the whole batch times out. */
  readonly deadline: number;
  /** Whether some waiter has its own, earlier deadline. */
  readonly hasWaiterDeadlines: boolean;
  done: boolean;
  timingOut: boolean;
}

const OPERATION = 'redis.mget';

/**
 * Coalesces the reads issued in one tick on a single Redis node into one MGET
 * with each key sent once (the global stamp, and a user's stamp shared by many
 * checks, appear once). One unref'd watchdog timer per layer bounds everything
 * in flight: each batch by `timeoutMs`, and each caller whose request deadline
 * ends sooner by that deadline (it then fails alone with `E_DEADLINE`). No timer
 * is created or cleared per command or per caller, and no AbortSignal is created
 * or read (ioredis cannot cancel a command anyway). Internal to `redisLayer`.
 *
 * @example
 * ```ts
 * const batcher = new MgetBatcher((keys) => client.mgetBuffer(...keys), 50, outcome);
 * const entries = await batcher.read(['app:a', 'app:b'], Infinity);
 * ```
 */
export class MgetBatcher<T = Array<Buffer | null>> {
  private pending: Waiter[] | undefined;
  /** Batches in flight, oldest first (a Set keeps insertion order). */
  private readonly inFlight = new Set<Batch>();
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  /** `performance.now()` at which the watchdog fires. */
  private watchdogAt = Infinity;
  private readonly flushPending = (): void => this.flush();
  private readonly onWatchdog = (): void => this.expireOverdue();

  constructor(
    private readonly send: MgetSender,
    private readonly timeoutMs: number,
    private readonly outcome: MgetOutcome<T> = RAW as unknown as MgetOutcome<T>,
  ) {}

  /**
   * Raw replies for `keys` (unprefixed), from this tick's shared MGET.
   *
   * @param deadlineAt - `performance.now()` at which the caller's request deadline ends, or `Infinity`.
   */
  read(keys: readonly string[], deadlineAt: number): Promise<T> {
    return this.readThen<T>(keys, deadlineAt, undefined, undefined);
  }

  /**
   * `read(keys, deadlineAt).then(onValue, onError)` without the hop in between: the continuation runs in the
   * batch's own callback, right after the caller's breaker accounting, and its result (or throw) settles the
   * promise returned here. Without continuations, that promise settles with the result (or error) itself.
   */
  readThen<U>(
    keys: readonly string[],
    deadlineAt: number,
    onValue: ((result: T) => U | PromiseLike<U>) | undefined,
    onError: ((err: unknown) => U | PromiseLike<U>) | undefined,
  ): Promise<U> {
    return new Promise<U>((resolve, reject) => {
      if (this.pending === undefined) {
        this.pending = [];
        queueMicrotask(this.flushPending);
      }
      this.pending.push({
        keys,
        resolve: resolve as (result: never) => void,
        reject,
        onValue: onValue as ((result: never) => unknown) | undefined,
        onError,
        deadlineAt,
        settled: false,
      });
    });
  }

  /** Fails every waiter not yet sent or still waiting for its reply (connection closed, layer not ready). */
  failAll(err: unknown): void {
    for (const batch of [...this.inFlight]) this.finish(batch, err, undefined);
    const pending = this.pending;
    this.pending = undefined;
    if (pending !== undefined) for (const waiter of pending) this.settleError(waiter, err);
  }

  private flush(): void {
    const waiters = this.pending;
    this.pending = undefined;
    if (waiters === undefined || waiters.length === 0) return;
    let keys: readonly string[];
    let positions: Int32Array | undefined;
    let earliest = Infinity;
    if (waiters.length === 1) {
      const waiter = waiters[0] as Waiter;
      keys = waiter.keys;
      earliest = waiter.deadlineAt;
    } else {
      // Each key once: the global stamp is in every read, a user's stamp in each of the user's reads.
      const seen = new Map<string, number>();
      const unique: string[] = [];
      keys = unique;
      let total = 0;
      for (const waiter of waiters) total += waiter.keys.length;
      positions = new Int32Array(total);
      let p = 0;
      for (const waiter of waiters) {
        if (waiter.deadlineAt < earliest) earliest = waiter.deadlineAt;
        for (const key of waiter.keys) {
          let at = seen.get(key);
          if (at === undefined) {
            at = unique.length;
            seen.set(key, at);
            unique.push(key);
          }
          positions[p++] = at;
        }
      }
    }
    const started = performance.now();
    const deadline = started + this.timeoutMs;
    const batch: Batch = { waiters, started, deadline, hasWaiterDeadlines: earliest < deadline, done: false, timingOut: false };
    this.inFlight.add(batch);
    this.armBy(Math.min(deadline, earliest), started);
    let sent: Promise<Array<Buffer | null>>;
    try {
      sent = this.send(keys);
    } catch (err) {
      this.finish(batch, err, undefined);
      return;
    }
    sent.then(
      (raws) => this.finish(batch, undefined, positions === undefined ? raws : { raws, positions }),
      (err: unknown) => this.finish(batch, err ?? new Error('Redis command failed'), undefined),
    );
  }

  /** Makes sure the watchdog fires no later than `at` (it is only re-armed for a sooner time). */
  private armBy(at: number, now: number): void {
    if (this.watchdog !== undefined) {
      if (at >= this.watchdogAt) return;
      clearTimeout(this.watchdog);
    }
    this.watchdogAt = at;
    this.watchdog = setTimeout(this.onWatchdog, Math.max(1, Math.ceil(at - now)));
    this.watchdog.unref();
  }

  /** Times out what is overdue and re-arms for the next limit still running. */
  private expireOverdue(): void {
    this.watchdog = undefined;
    this.watchdogAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const batch of this.inFlight) {
      if (batch.timingOut) continue;
      if (batch.deadline <= now) {
        batch.timingOut = true;
        const err = new TimeoutError({ operation: OPERATION, elapsedMs: Math.round(now - batch.started), timeoutMs: this.timeoutMs });
        // Timers run before I/O in a loop turn: let a reply already in the socket win first.
        setImmediate(() => this.finish(batch, err, undefined));
        continue;
      }
      if (batch.deadline < next) next = batch.deadline;
      if (!batch.hasWaiterDeadlines) continue;
      for (const waiter of batch.waiters) {
        if (waiter.settled || waiter.deadlineAt === Infinity) continue;
        if (waiter.deadlineAt <= now) setImmediate(() => this.settleError(waiter, new DeadlineExceededError(OPERATION, 0)));
        else if (waiter.deadlineAt < next) next = waiter.deadlineAt;
      }
    }
    if (next !== Infinity) this.armBy(next, now);
  }

  private settleValue(waiter: Waiter, raws: Array<Buffer | null>): void {
    if (waiter.settled) return;
    waiter.settled = true;
    let result: T;
    try {
      result = this.outcome.decode(raws);
    } catch (err) {
      this.outcome.failed(err);
      this.rejectWaiter(waiter, err);
      return;
    }
    this.outcome.succeeded();
    if (waiter.onValue === undefined) {
      (waiter.resolve as (result: T) => void)(result);
      return;
    }
    try {
      (waiter.resolve as (result: unknown) => void)((waiter.onValue as (result: T) => unknown)(result));
    } catch (err) {
      waiter.reject(err);
    }
  }

  private settleError(waiter: Waiter, err: unknown): void {
    if (waiter.settled) return;
    waiter.settled = true;
    this.outcome.failed(err);
    this.rejectWaiter(waiter, err);
  }

  /** Fails the caller's read: its `onError` decides what its promise settles with, if it gave one. */
  private rejectWaiter(waiter: Waiter, err: unknown): void {
    if (waiter.onError === undefined) {
      waiter.reject(err);
      return;
    }
    try {
      (waiter.resolve as (result: unknown) => void)(waiter.onError(err));
    } catch (thrown) {
      waiter.reject(thrown);
    }
  }

  private finish(batch: Batch, err: unknown, reply: Array<Buffer | null> | { raws: Array<Buffer | null>; positions: Int32Array } | undefined): void {
    if (batch.done) return;
    batch.done = true;
    this.inFlight.delete(batch);
    if (reply === undefined) {
      for (const waiter of batch.waiters) this.settleError(waiter, err);
      return;
    }
    if (Array.isArray(reply)) {
      this.settleValue(batch.waiters[0] as Waiter, reply);
      return;
    }
    let p = 0;
    for (const waiter of batch.waiters) {
      const raws = new Array<Buffer | null>(waiter.keys.length);
      for (let j = 0; j < raws.length; j++) raws[j] = reply.raws[reply.positions[p++] as number] ?? null;
      this.settleValue(waiter, raws);
    }
  }
}

/** The default outcome: raw replies, nothing to account. */
const RAW: MgetOutcome<Array<Buffer | null>> = { decode: (raws) => raws, failed: () => undefined, succeeded: () => undefined };
