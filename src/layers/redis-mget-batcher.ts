import { TimeoutError } from '../errors.js';
import { abortError } from '../resilience/deadline.js';

/** Sends one MGET of `keys` (the layer adds its prefix) and resolves to its raw replies, in order. */
export type MgetSender = (keys: readonly string[]) => Promise<Array<Buffer | null>>;

interface Waiter {
  readonly keys: readonly string[];
  readonly resolve: (raws: Array<Buffer | null>) => void;
  readonly reject: (err: unknown) => void;
  /** The caller's deadline signal (ambient `withDeadline`), if any. */
  readonly deadline: AbortSignal | undefined;
  onDeadline: (() => void) | undefined;
  settled: boolean;
}

/** One MGET in flight and the waiters it answers. */
interface Batch {
  readonly waiters: readonly Waiter[];
  readonly started: number;
  /** `performance.now()` after which it times out. */
  readonly deadline: number;
  done: boolean;
  timingOut: boolean;
}

const OPERATION = 'redis.mget';

/**
 * Coalesces the reads issued in one tick on a single Redis node into one MGET
 * with each key sent once (the global stamp, and a user's stamp shared by many
 * checks, appear once). One unref'd watchdog timer per layer bounds every batch
 * in flight by `timeoutMs` (batches start in order, so it only ever waits for the
 * oldest): no timer is created or cleared per command, nor per caller. Each caller
 * is also bounded by its own request deadline through the deadline's abort signal
 * (an event listener, not a timer). No AbortSignal is created: ioredis cannot
 * cancel a command. Internal to `redisLayer`.
 *
 * @example
 * ```ts
 * const batcher = new MgetBatcher((keys) => client.mgetBuffer(...keys), 50);
 * const raws = await batcher.read(['app:a', 'app:b'], undefined);
 * ```
 */
export class MgetBatcher {
  private pending: Waiter[] | undefined;
  /** Batches in flight, oldest first (a Set keeps insertion order). */
  private readonly inFlight = new Set<Batch>();
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private readonly flushPending = (): void => this.flush();
  private readonly onWatchdog = (): void => this.expireOverdue();

  constructor(
    private readonly send: MgetSender,
    private readonly timeoutMs: number,
  ) {}

  /** Raw replies for `keys` (unprefixed), from this tick's shared MGET. */
  read(keys: readonly string[], deadline: AbortSignal | undefined): Promise<Array<Buffer | null>> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { keys, resolve, reject, deadline, onDeadline: undefined, settled: false };
      if (deadline !== undefined) {
        waiter.onDeadline = () => settleError(waiter, abortError(deadline, OPERATION));
        deadline.addEventListener('abort', waiter.onDeadline, { once: true });
      }
      if (this.pending === undefined) {
        this.pending = [];
        queueMicrotask(this.flushPending);
      }
      this.pending.push(waiter);
    });
  }

  /** Fails every waiter not yet sent or still waiting for its reply (connection closed, layer not ready). */
  failAll(err: unknown): void {
    for (const batch of [...this.inFlight]) this.finish(batch, err, undefined);
    const pending = this.pending;
    this.pending = undefined;
    if (pending !== undefined) for (const waiter of pending) settleError(waiter, err);
  }

  private flush(): void {
    const waiters = this.pending;
    this.pending = undefined;
    if (waiters === undefined || waiters.length === 0) return;
    let keys: readonly string[];
    let positions: Int32Array | undefined;
    if (waiters.length === 1) {
      keys = (waiters[0] as Waiter).keys;
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
    const batch: Batch = { waiters, started, deadline: started + this.timeoutMs, done: false, timingOut: false };
    this.inFlight.add(batch);
    if (this.watchdog === undefined) this.arm(this.timeoutMs);
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

  private arm(ms: number): void {
    this.watchdog = setTimeout(this.onWatchdog, ms);
    this.watchdog.unref();
  }

  /** Times out the batches past their deadline and re-arms for the oldest one still running. */
  private expireOverdue(): void {
    this.watchdog = undefined;
    const now = performance.now();
    for (const batch of this.inFlight) {
      if (batch.timingOut) continue;
      if (batch.deadline > now) {
        this.arm(Math.max(1, Math.ceil(batch.deadline - now)));
        return;
      }
      batch.timingOut = true;
      const err = new TimeoutError({ operation: OPERATION, elapsedMs: Math.round(now - batch.started), timeoutMs: this.timeoutMs });
      // Timers run before I/O in a loop turn: let a reply already in the socket win first.
      setImmediate(() => this.finish(batch, err, undefined));
    }
  }

  private finish(batch: Batch, err: unknown, reply: Array<Buffer | null> | { raws: Array<Buffer | null>; positions: Int32Array } | undefined): void {
    if (batch.done) return;
    batch.done = true;
    this.inFlight.delete(batch);
    if (reply === undefined) {
      for (const waiter of batch.waiters) settleError(waiter, err);
      return;
    }
    if (Array.isArray(reply)) {
      settleValue(batch.waiters[0] as Waiter, reply);
      return;
    }
    let p = 0;
    for (const waiter of batch.waiters) {
      const raws = new Array<Buffer | null>(waiter.keys.length);
      for (let j = 0; j < raws.length; j++) raws[j] = reply.raws[reply.positions[p++] as number] ?? null;
      settleValue(waiter, raws);
    }
  }
}

function release(waiter: Waiter): boolean {
  if (waiter.settled) return false;
  waiter.settled = true;
  if (waiter.onDeadline !== undefined) waiter.deadline?.removeEventListener('abort', waiter.onDeadline);
  return true;
}

function settleValue(waiter: Waiter, raws: Array<Buffer | null>): void {
  if (release(waiter)) waiter.resolve(raws);
}

function settleError(waiter: Waiter, err: unknown): void {
  if (release(waiter)) waiter.reject(err);
}
