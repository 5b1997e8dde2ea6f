import { ConfigurationError } from '../errors.js';

/** Options for {@link createRetryBudget}. @example `createRetryBudget({ ratio: 0.2, windowMs: 10_000, minRetriesPerSecond: 1 })` */
export interface RetryBudgetOptions {
  /** Retries allowed as a fraction of first attempts in the window. @default 0.2 */
  ratio?: number | undefined;
  /** Length of the sliding window in ms. @default 10000 */
  windowMs?: number | undefined;
  /** Retries always allowed per second, whatever the traffic (the floor). @default 1 */
  minRetriesPerSecond?: number | undefined;
}

/** What {@link RetryBudget.stats} reports for the current window. @example `if (budget.stats().available === 0) log.warn('retry budget spent')` */
export interface RetryBudgetStats {
  readonly requests: number;
  readonly retries: number;
  /** Retries still allowed right now. */
  readonly available: number;
  /** Retries refused since creation. */
  readonly refused: number;
}

const BUCKETS = 10;

/**
 * Caps retries at `ratio` of the calls seen over a sliding window, plus a small
 * floor, as Finagle's and Envoy's retry budgets do: when a dependency fails,
 * retries add at most 20 % load instead of multiplying it. No timers: buckets
 * advance lazily on use.
 *
 * @example
 * ```ts
 * const budget = createRetryBudget({ ratio: 0.1 });
 * await retry((signal) => fetchProfile(id, signal), { idempotent: true, budget });
 * ```
 */
export class RetryBudget {
  private readonly ratio: number;
  private readonly bucketMs: number;
  private readonly floor: number;
  private readonly requests = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  private epoch = -1;
  private refused = 0;

  constructor(options: RetryBudgetOptions = {}) {
    const { ratio = 0.2, windowMs = 10_000, minRetriesPerSecond = 1 } = options;
    if (typeof ratio !== 'number' || !(ratio >= 0)) throw new ConfigurationError('ratio', 'must be a number >= 0');
    if (typeof windowMs !== 'number' || !(windowMs > 0) || windowMs === Infinity) throw new ConfigurationError('windowMs', 'must be a positive finite number');
    if (typeof minRetriesPerSecond !== 'number' || !(minRetriesPerSecond >= 0)) throw new ConfigurationError('minRetriesPerSecond', 'must be a number >= 0');
    this.ratio = ratio;
    this.bucketMs = windowMs / BUCKETS;
    this.floor = (minRetriesPerSecond * windowMs) / 1_000;
  }

  /** Records a first attempt (a deposit). */
  recordRequest(): void {
    this.requests[this.advance()]! += 1;
  }

  /** Takes one retry from the budget; false (and nothing taken) when it is spent. */
  tryRetry(): boolean {
    const slot = this.advance();
    if (this.available() < 1) {
      this.refused++;
      return false;
    }
    this.retries[slot]! += 1;
    return true;
  }

  /** Counts over the current window. @example `budget.stats().available` */
  stats(): RetryBudgetStats {
    this.advance();
    return { requests: sum(this.requests), retries: sum(this.retries), available: Math.max(0, Math.floor(this.available())), refused: this.refused };
  }

  private available(): number {
    return sum(this.requests) * this.ratio + this.floor - sum(this.retries);
  }

  /** Clears the buckets that slid out of the window; returns the current bucket's index. */
  private advance(): number {
    const epoch = Math.floor(performance.now() / this.bucketMs);
    if (epoch !== this.epoch) {
      const stale = this.epoch < 0 ? BUCKETS : Math.min(BUCKETS, epoch - this.epoch);
      for (let i = 1; i <= stale; i++) {
        const slot = (this.epoch + i) % BUCKETS;
        this.requests[slot < 0 ? slot + BUCKETS : slot] = 0;
        this.retries[slot < 0 ? slot + BUCKETS : slot] = 0;
      }
      this.epoch = epoch;
    }
    return epoch % BUCKETS;
  }
}

function sum(values: Float64Array): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/**
 * Creates a {@link RetryBudget}. Share one budget per dependency across every
 * `retry` call that targets it.
 *
 * @param options - See {@link RetryBudgetOptions}.
 * @throws {@link ConfigurationError} for an invalid option.
 * @example
 * ```ts
 * export const redisRetries = createRetryBudget({ ratio: 0.2, windowMs: 10_000, minRetriesPerSecond: 1 });
 * ```
 */
export function createRetryBudget(options?: RetryBudgetOptions): RetryBudget {
  return new RetryBudget(options);
}
