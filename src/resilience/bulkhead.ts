import { BulkheadRejectedError, ConfigurationError, DeadlineExceededError, type BulkheadRejectReason } from '../errors.js';
import { channels, publish } from '../observe/channels.js';
import { abortError, resolveBudget } from './deadline.js';
import { Listeners, type Disposer } from './listeners.js';
import type { ExecuteOptions, ResiliencePolicy } from './policy.js';

/** Options for {@link createBulkhead}. */
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

/** Counters of a bulkhead, as {@link Bulkhead.stats} returns them. */
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
   * Runs `fn` in a slot, waiting in the queue if needed.
   *
   * @throws {@link BulkheadRejectedError} with `reason` `queue-full`, `queue-timeout` or `deadline` (the deadline passed while waiting).
   * @throws {@link DeadlineExceededError} when the deadline is already below its floor on entry.
   * @throws {@link AbortedError} when the caller aborts while waiting.
   * @example
   * ```ts
   * await bulkhead.execute((signal) => fetch(url, { signal }), { signal: req.signal });
   * ```
   */
  async execute<T>(fn: (signal: AbortSignal) => T | Promise<T>, options?: ExecuteOptions): Promise<T> {
    const callerSignal = options?.signal;
    if (callerSignal?.aborted) throw abortError(callerSignal, this.name);
    const budget = resolveBudget(this.queueTimeoutMs, this.name);
    if (this.running >= this.concurrency) await this.wait(callerSignal, budget.ms, budget.deadlineBound);
    else this.running++;
    this.admitted++;
    this.publishOccupancy();
    // fn must see both the caller's abort and the deadline's; link them only when both exist.
    let linked: AbortController | undefined;
    const onUpstreamAbort = (event: Event): void => linked?.abort((event.target as AbortSignal).reason);
    if (callerSignal !== undefined && budget.signal !== undefined) {
      linked = new AbortController();
      callerSignal.addEventListener('abort', onUpstreamAbort, { once: true });
      budget.signal.addEventListener('abort', onUpstreamAbort, { once: true });
      // Either may have aborted while this call waited in the queue.
      const already = callerSignal.aborted ? callerSignal : budget.signal.aborted ? budget.signal : undefined;
      if (already !== undefined) linked.abort(already.reason);
    }
    try {
      return await fn(linked?.signal ?? callerSignal ?? budget.signal ?? new AbortController().signal);
    } catch (err) {
      if (linked !== undefined && !linked.signal.aborted) linked.abort(err);
      throw err;
    } finally {
      if (linked !== undefined) {
        callerSignal?.removeEventListener('abort', onUpstreamAbort);
        budget.signal?.removeEventListener('abort', onUpstreamAbort);
      }
      this.release();
    }
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
    const next = this.waiters.values().next();
    if (next.done) this.running--;
    else next.value.grant();
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
