import { BulkheadRejectedError, ConfigurationError, DeadlineExceededError, type BulkheadRejectReason } from '../errors.js';
import { channels, publish } from '../observe/channels.js';
import { Cancellation } from './cancellation.js';
import { abortError, DEFAULT_DEADLINE_FLOOR_MS } from './deadline.js';
import { budgetLeft, currentScope, type DeadlineScope } from './deadline-scope.js';
import { Listeners, type Disposer } from './listeners.js';
import { NEVER_ABORTED } from './never-aborted.js';
import type { ExecuteOptions, ResiliencePolicy } from './policy.js';

/** Options for {@link createBulkhead}. @example `{ concurrency: 20, queue: 200, queueTimeoutMs: 100, name: 'postgres' }` */
export interface BulkheadOptions {
  /** Calls allowed to run at the same time. */
  concurrency: number;
  /** Calls allowed to wait for a slot; beyond that, calls are rejected at once. @default 0 */
  queue?: number | undefined;
  /** Longest wait for a slot in ms (the ambient deadline shortens it). @default Infinity */
  queueTimeoutMs?: number | undefined;
  /** Name used in errors and listings. @default "bulkhead" */
  name?: string | undefined;
}

/** Counters of a bulkhead, as {@link Bulkhead.stats} returns them. @example `const { running, queued, rejected } = bulkhead.stats()` */
export interface BulkheadStats {
  readonly name: string;
  readonly running: number;
  readonly queued: number;
  readonly concurrency: number;
  readonly queueCapacity: number;
  /** Calls that got a slot, since creation. */
  readonly admitted: number;
  /** Rejections by reason, since creation. */
  readonly rejected: Readonly<Record<BulkheadRejectReason, number>>;
  /** Waiters that left the queue because their caller aborted. */
  readonly abandoned: number;
}

interface Waiter {
  grant: () => void;
  leave: () => void;
}

/**
 * Limits how many calls run at once, with a bounded FIFO queue. A waiter whose
 * caller aborts leaves the queue at once, so aborted calls never starve live
 * ones (cockatiel issue 112). Create it with {@link createBulkhead}.
 *
 * @example
 * ```ts
 * const pool = createBulkhead({ concurrency: 10, queue: 100, queueTimeoutMs: 250, name: 'pg' });
 * const rows = await pool.execute((signal) => client.query({ text: sql, signal }));
 * ```
 */
export class Bulkhead implements ResiliencePolicy {
  readonly name: string;
  private readonly concurrency: number;
  private readonly queueCapacity: number;
  private readonly queueTimeoutMs: number;
  private running = 0;
  // A Set is insertion-ordered (FIFO) and deletes in O(1) when a waiter leaves early.
  private readonly waiters = new Set<Waiter>();
  private admitted = 0;
  private abandoned = 0;
  private readonly rejected: Record<BulkheadRejectReason, number> = { 'queue-full': 0, 'queue-timeout': 0, deadline: 0 };
  private readonly rejectListeners = new Listeners<[error: BulkheadRejectedError]>();

  constructor(options: BulkheadOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigurationError('options', 'must be an object');
    const { concurrency, queue = 0, queueTimeoutMs = Infinity, name = 'bulkhead' } = options;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigurationError('concurrency', 'must be an integer >= 1');
    if (!(Number.isInteger(queue) && queue >= 0) && queue !== Infinity) throw new ConfigurationError('queue', 'must be an integer >= 0 or Infinity');
    if (typeof queueTimeoutMs !== 'number' || !(queueTimeoutMs > 0)) throw new ConfigurationError('queueTimeoutMs', 'must be a positive number of milliseconds');
    this.name = name;
    this.concurrency = concurrency;
    this.queueCapacity = queue;
    this.queueTimeoutMs = queueTimeoutMs;
  }

  /**
   * Runs `fn` in a slot, waiting in the queue if needed. `fn` gets the caller's
   * signal, the deadline's, or both linked — only when it declares a parameter.
   *
   * @throws {@link BulkheadRejectedError} with `reason` `queue-full`, `queue-timeout` or `deadline` (the deadline passed while waiting).
   * @throws {@link DeadlineExceededError} when the deadline is already below its floor on entry.
   * @throws {@link AbortedError} when the caller aborts while waiting.
   * @example
   * ```ts
   * await bulkhead.execute((signal) => fetch(url, { signal }), { signal: req.signal });
   * ```
   */
  execute<T>(fn: (signal: AbortSignal) => T | Promise<T>, options?: ExecuteOptions): Promise<T> {
    const signal = options?.signal;
    const callerSignal = signal === NEVER_ABORTED ? undefined : signal;
    if (callerSignal?.aborted) return Promise.reject(abortError(callerSignal, this.name));
    const scope = currentScope();
    const left = budgetLeft(scope, this.name, DEFAULT_DEADLINE_FLOOR_MS);
    if (typeof left !== 'number') return Promise.reject(left);
    // A free slot means nobody is queued (a freed slot passes straight to the first waiter).
    if (this.running < this.concurrency) {
      this.running++;
      return this.runInSlot(fn, scope, callerSignal);
    }
    return this.queueThenRun(fn, scope, left, callerSignal);
  }

  private async queueThenRun<T>(fn: (signal: AbortSignal) => T | Promise<T>, scope: DeadlineScope | undefined, left: number, callerSignal: AbortSignal | undefined): Promise<T> {
    const deadlineBound = left < this.queueTimeoutMs;
    await this.wait(callerSignal, deadlineBound ? left : this.queueTimeoutMs, deadlineBound);
    return this.runInSlot(fn, scope, callerSignal);
  }

  /** Runs `fn` in the slot this call holds and frees the slot when it settles. */
  private runInSlot<T>(fn: (signal: AbortSignal) => T | Promise<T>, scope: DeadlineScope | undefined, callerSignal: AbortSignal | undefined): Promise<T> {
    this.admitted++;
    this.publishOccupancy();
    // fn must see both the caller's abort and the deadline's; they are linked only when
    // both exist and fn can read a signal (it declares a parameter).
    let linked: LinkedSignal | undefined;
    let signal = NEVER_ABORTED;
    if (fn.length > 0) {
      if (callerSignal !== undefined && scope !== undefined) {
        linked = new LinkedSignal(scope, callerSignal);
        signal = linked.signal;
      } else {
        signal = callerSignal ?? scope?.signal ?? NEVER_ABORTED;
      }
    }
    let result: T | Promise<T>;
    try {
      result = fn(signal);
    } catch (err) {
      linked?.done(err);
      this.release();
      return Promise.reject(err);
    }
    return (result instanceof Promise ? result : Promise.resolve(result)).then(
      (value) => {
        linked?.done(undefined);
        this.release();
        return value;
      },
      (err: unknown) => {
        linked?.done(err);
        this.release();
        throw err;
      },
    );
  }

  /**
   * Calls currently running and waiting, and counters since creation.
   *
   * @example
   * ```ts
   * gauge.set({ name: bulkhead.name }, bulkhead.stats().queued);
   * ```
   */
  stats(): BulkheadStats {
    return {
      name: this.name,
      running: this.running,
      queued: this.waiters.size,
      concurrency: this.concurrency,
      queueCapacity: this.queueCapacity,
      admitted: this.admitted,
      rejected: { ...this.rejected },
      abandoned: this.abandoned,
    };
  }

  /**
   * Called when a call is rejected; returns a disposer.
   *
   * @example
   * ```ts
   * const off = bulkhead.onReject((err) => metrics.shed.inc({ reason: err.reason }));
   * ```
   */
  onReject(listener: (error: BulkheadRejectedError) => void): Disposer {
    return this.rejectListeners.add(listener);
  }

  private wait(signal: AbortSignal | undefined, waitMs: number, deadlineBound: boolean): Promise<void> {
    if (this.waiters.size >= this.queueCapacity) return Promise.reject(this.rejection('queue-full'));
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => {
        waiter.leave();
        this.abandoned++;
        reject(abortError(signal!, this.name));
      };
      const waiter: Waiter = {
        // The slot passes straight from the finishing call to this waiter, so `running` is unchanged.
        grant: () => {
          waiter.leave();
          resolve();
        },
        leave: () => {
          this.waiters.delete(waiter);
          this.publishOccupancy();
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      if (waitMs !== Infinity) {
        timer = setTimeout(() => {
          waiter.leave();
          const reason: BulkheadRejectReason = deadlineBound ? 'deadline' : 'queue-timeout';
          reject(this.rejection(reason, deadlineBound ? new DeadlineExceededError(this.name, 0) : undefined));
        }, waitMs);
        timer.unref();
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      this.publishOccupancy();
    });
  }

  private release(): void {
    if (this.waiters.size === 0) this.running--;
    else this.waiters.values().next().value?.grant();
    this.publishOccupancy();
  }

  private publishOccupancy(): void {
    if (channels.bulkheadQueue.hasSubscribers) channels.bulkheadQueue.publish({ name: this.name, active: this.running, queued: this.waiters.size });
  }

  private rejection(reason: BulkheadRejectReason, cause?: unknown): BulkheadRejectedError {
    this.rejected[reason]++;
    const error = new BulkheadRejectedError(reason, cause === undefined ? undefined : { cause });
    this.rejectListeners.emit(error);
    publish(channels.bulkheadRejected, { name: this.name, reason });
    return error;
  }
}

/** The signal of a slot whose caller and deadline can both abort it: subscribed to the deadline, listening to the caller. */
class LinkedSignal extends Cancellation {
  constructor(
    private readonly scope: DeadlineScope,
    private readonly callerSignal: AbortSignal,
  ) {
    super();
    // Either may have aborted while this call waited in the queue.
    if (callerSignal.aborted) this.abort(callerSignal.reason);
    else if (scope.aborted) this.abort(scope.reason);
    else {
      scope.subscribe(this);
      callerSignal.addEventListener('abort', this, { once: true });
    }
  }

  /** The call settled: stop listening; on failure, abort what fn left running. */
  done(error: unknown): void {
    this.scope.unsubscribe(this);
    this.callerSignal.removeEventListener('abort', this);
    if (error !== undefined && !this.aborted) this.abort(error);
  }

  override expire(): void {
    // Never scheduled: the deadline's own timer aborts the scope this subscribes to.
  }
}

/**
 * Creates a {@link Bulkhead}: at most `concurrency` calls run, up to `queue` wait
 * (FIFO) for at most `min(queueTimeoutMs, remaining deadline)`; anything beyond
 * is rejected with `BulkheadRejectedError` and its `reason`. A waiter whose
 * signal aborts leaves the queue immediately.
 *
 * @param options - See {@link BulkheadOptions}.
 * @throws {@link ConfigurationError} for an invalid option.
 * @example
 * ```ts
 * const db = createBulkhead({ concurrency: 20, queue: 200, queueTimeoutMs: 100, name: 'postgres' });
 * app.get('/projects', async (req, res) => {
 *   res.json(await db.execute((signal) => listProjects(req.user.id, { signal })));
 * });
 * ```
 */
export function createBulkhead(options: BulkheadOptions): Bulkhead {
  return new Bulkhead(options);
}
