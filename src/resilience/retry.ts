import { ConfigurationError, isAbortedError, isDeadlineExceededError, isSupaguardError } from '../errors.js';
import { abortError, DEFAULT_DEADLINE_FLOOR_MS, deadlineSignal, remainingMs, resolveBudget } from './deadline.js';
import { NEVER_ABORTED } from './never-aborted.js';
import { RetryBudget } from './retry-budget.js';

/** Options for {@link retry}. */
export interface RetryOptions {
  /**
   * Must be `true`: retrying is only safe for operations that can run twice
   * without harm (reads, idempotent writes). supaguard refuses anything else.
   */
  idempotent: true;
  /** Total attempts, the first included. @default 3 */
  attempts?: number | undefined;
  /** Smallest delay between attempts in ms. @default 25 */
  baseMs?: number | undefined;
  /** Largest delay between attempts in ms. @default 1000 */
  maxMs?: number | undefined;
  /** Which errors are worth another attempt. @default {@link isRetryableError} */
  retryOn?: ((error: unknown, attempt: number) => boolean) | undefined;
  /** Caps retries across calls (≤ 20 % extra by default). @default one process-wide budget */
  budget?: RetryBudget | undefined;
  /** A caller's signal; aborting it stops waiting and the running attempt. */
  signal?: AbortSignal | undefined;
  /** Name used in errors. @default "retry" */
  operation?: string | undefined;
}

const DEFAULT_BUDGET_KEY = Symbol.for('supaguard.retryBudget');
const globalBudget = globalThis as unknown as Record<symbol, RetryBudget | undefined>;

/**
 * The default `retryOn`: timeouts, database errors without a 4xx answer,
 * unavailable signing keys, and errors that are not supaguard's own (network
 * failures). Never: caller aborts, deadlines, open breakers, full bulkheads,
 * bad input, auth failures.
 *
 * @example
 * ```ts
 * await retry(fn, { idempotent: true, retryOn: (err) => isRetryableError(err) || isRateLimitedError(err) });
 * ```
 */
export function isRetryableError(error: unknown): boolean {
  if (!isSupaguardError(error)) return true;
  switch (error.code) {
    case 'E_TIMEOUT':
    case 'E_DB_TIMEOUT':
    case 'E_JWKS_UNAVAILABLE':
      return true;
    case 'E_DB': {
      const status = (error as { httpStatus?: number }).httpStatus;
      return status === undefined || status >= 500;
    }
    default:
      return false;
  }
}

/**
 * Runs `fn` and retries it on retryable errors with decorrelated-jitter backoff
 * (`delay = min(maxMs, random(baseMs, previous × 3))`), for operations the
 * caller marks `idempotent: true`. It never sleeps past the ambient deadline
 * (it gives up with the last error instead) and draws each retry from a
 * {@link RetryBudget}, so retries cannot multiply an outage. Put it *outside*
 * a circuit breaker, so every attempt is seen (and can be refused) by the breaker.
 *
 * @param fn - The attempt; receives a signal and the 1-based attempt number.
 * @param options - See {@link RetryOptions}.
 * @throws the last attempt's error when attempts, budget or deadline run out.
 * @throws {@link DeadlineExceededError} when the deadline is below its floor before the first attempt.
 * @throws {@link AbortedError} when `options.signal` aborts during a backoff.
 * @throws {@link ConfigurationError} when `idempotent` is not `true` or an option is invalid.
 * @example
 * ```ts
 * const profile = await retry((signal) => guarded.execute((s) => loadProfile(id, s), { signal }), {
 *   idempotent: true,
 *   attempts: 3,
 *   baseMs: 20,
 *   maxMs: 200,
 * });
 * ```
 */
export async function retry<T>(fn: (signal: AbortSignal, attempt: number) => T | Promise<T>, options: RetryOptions): Promise<T> {
  if (options?.idempotent !== true) throw new ConfigurationError('idempotent', 'must be true: only idempotent operations may be retried');
  const { attempts = 3, baseMs = 25, maxMs = 1_000, retryOn = isRetryableError, signal, operation = 'retry' } = options;
  if (!Number.isInteger(attempts) || attempts < 1) throw new ConfigurationError('attempts', 'must be an integer >= 1');
  if (typeof baseMs !== 'number' || !(baseMs >= 0) || baseMs === Infinity) throw new ConfigurationError('baseMs', 'must be a finite number >= 0');
  if (typeof maxMs !== 'number' || !(maxMs >= baseMs)) throw new ConfigurationError('maxMs', 'must be a number >= baseMs');
  const budget = options.budget ?? (globalBudget[DEFAULT_BUDGET_KEY] ??= new RetryBudget());

  if (signal?.aborted) throw abortError(signal, operation);
  resolveBudget(Infinity, operation);
  budget.recordRequest();
  let delay = baseMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(signal ?? deadlineSignal() ?? NEVER_ABORTED, attempt);
    } catch (error) {
      if (attempt >= attempts || isAbortedError(error) || isDeadlineExceededError(error) || signal?.aborted) throw error;
      if (!safely(retryOn, error, attempt)) throw error;
      delay = Math.min(maxMs, baseMs + Math.random() * Math.max(0, delay * 3 - baseMs));
      // A retry that cannot start before the deadline is not worth the wait.
      if (remainingMs() - delay < DEFAULT_DEADLINE_FLOOR_MS) throw error;
      if (!budget.tryRetry()) throw error;
      await sleep(delay, signal, operation);
    }
  }
}

function safely(retryOn: (error: unknown, attempt: number) => boolean, error: unknown, attempt: number): boolean {
  try {
    return retryOn(error, attempt) === true;
  } catch {
    return false;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined, operation: string): Promise<void> {
  const deadline = deadlineSignal();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (event: Event): void => {
      done();
      reject(abortError(event.target as AbortSignal, operation));
    };
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      deadline?.removeEventListener('abort', onAbort);
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    // Not unref'd: the back-off IS the awaited work. An unref'd sleep let a script
    // that awaits retry() exit in the middle of it (top-level await never settled).
    signal?.addEventListener('abort', onAbort, { once: true });
    deadline?.addEventListener('abort', onAbort, { once: true });
  });
}
