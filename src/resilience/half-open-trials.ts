import type { BreakerOutcomes } from './breaker-outcomes.js';
import type { DeadlineScope } from './deadline-scope.js';
import { NEVER_ABORTED } from './never-aborted.js';
import type { OpossumCore } from './opossum-core.js';
import { TimeoutCall } from './timeout-call.js';

/**
 * The trial calls of a half-open circuit breaker: admits at most `limit` of
 * them, runs each under the breaker's timeout, and judges the dependency by
 * their outcomes — `limit` answers close the breaker, one failure reopens it, a
 * caller's abort frees its slot. {@link HalfOpenTrials.reset} starts a new
 * phase (the breaker calls it on every transition).
 *
 * @example
 * ```ts
 * const trials = new HalfOpenTrials(3, 'redis', 50, outcomes, opossum);
 * if (trials.admit()) await trials.run((signal) => redis.get(key), scope, left, undefined, performance.now(), undefined);
 * ```
 */
export class HalfOpenTrials {
  private admitted = 0;
  private successes = 0;
  /** Bumped by every reset so late trial results from an earlier half-open phase are ignored. */
  private phase = 0;

  constructor(
    private readonly limit: number,
    private readonly name: string,
    private readonly timeoutMs: number,
    private readonly outcomes: BreakerOutcomes,
    private readonly opossum: Pick<OpossumCore, 'open' | 'close'>,
  ) {}

  /** Takes a trial slot; false when all `limit` are taken. */
  admit(): boolean {
    if (this.admitted >= this.limit) return false;
    this.admitted++;
    return true;
  }

  /** Runs an admitted trial started at `started` (`performance.now()`); its outcome is counted and judged. */
  run<T>(
    fn: (signal: AbortSignal) => T | Promise<T>,
    scope: DeadlineScope | undefined,
    left: number,
    callerSignal: AbortSignal | undefined,
    started: number,
    fallback: ((error: unknown) => T | Promise<T>) | undefined,
  ): Promise<T> {
    return this.judge(this.start(fn, scope, left, callerSignal), started, fallback);
  }

  /** Starts a new phase: no trial admitted, none succeeded, results still running ignored. */
  reset(): void {
    this.phase++;
    this.admitted = 0;
    this.successes = 0;
  }

  /** Calls `fn` with the breaker's timeout bounded by the deadline; no timer or signal when nothing can stop the call. */
  private start<T>(fn: (signal: AbortSignal) => T | Promise<T>, scope: DeadlineScope | undefined, left: number, callerSignal: AbortSignal | undefined): Promise<T> {
    if (this.timeoutMs !== Infinity || scope !== undefined) return new TimeoutCall<T>(this.name, this.timeoutMs, left, scope, callerSignal, undefined).run(fn);
    try {
      const result = fn(fn.length === 0 ? NEVER_ABORTED : (callerSignal ?? NEVER_ABORTED));
      return result instanceof Promise ? result : Promise.resolve(result);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async judge<T>(work: Promise<T>, started: number, fallback: ((error: unknown) => T | Promise<T>) | undefined): Promise<T> {
    const phase = this.phase;
    try {
      const result = await work;
      this.outcomes.settled('success', undefined, started);
      if (phase === this.phase && ++this.successes >= this.limit) this.opossum.close();
      return result;
    } catch (error) {
      const outcome = this.outcomes.classify(error);
      if (phase === this.phase) {
        if (outcome === 'failure') this.opossum.open();
        else if (outcome === 'aborted') this.admitted--; // the dependency was not judged: free the slot
        else if (++this.successes >= this.limit) this.opossum.close(); // filtered: the dependency answered
      }
      return this.outcomes.failed(error, outcome, started, fallback);
    }
  }
}
