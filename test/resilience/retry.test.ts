import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AbortedError,
  CircuitOpenError,
  ConfigurationError,
  DatabaseError,
  DeadlineExceededError,
  InvalidIdentifierError,
  TimeoutError,
} from '../../src/errors.js';
import { withDeadline } from '../../src/resilience/deadline.js';
import { createRetryBudget } from '../../src/resilience/retry-budget.js';
import { isRetryableError, retry } from '../../src/resilience/retry.js';

const timeout = (): TimeoutError => new TimeoutError({ operation: 'x', elapsedMs: 10, timeoutMs: 10 });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('retry', () => {
  it('refuses operations not marked idempotent', async () => {
    const fn = vi.fn(async () => 1);
    await expect(retry(fn, {} as never)).rejects.toBeInstanceOf(ConfigurationError);
    await expect(retry(fn, { idempotent: false } as never)).rejects.toBeInstanceOf(ConfigurationError);
    expect(fn).not.toHaveBeenCalled();
  });

  it('retries retryable errors up to `attempts`, then throws the last error', async () => {
    const errors = [timeout(), timeout(), timeout()];
    const fn = vi.fn(async (_signal: AbortSignal, attempt: number) => {
      throw errors[attempt - 1];
    });
    const p = retry(fn, { idempotent: true, attempts: 3, baseMs: 10, maxMs: 100, budget: createRetryBudget() }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await p).toBe(errors[2]);
    expect(fn.mock.calls.map((c) => c[1])).toEqual([1, 2, 3]);
  });

  it('returns as soon as an attempt succeeds', async () => {
    let n = 0;
    const p = retry(
      async () => {
        if (++n < 2) throw new Error('ECONNRESET');
        return 'ok';
      },
      { idempotent: true, baseMs: 5, budget: createRetryBudget() },
    );
    await vi.advanceTimersByTimeAsync(100);
    await expect(p).resolves.toBe('ok');
    expect(n).toBe(2);
  });

  it('waits with decorrelated jitter: each delay in [baseMs, min(maxMs, 3 × previous)]', async () => {
    const delays: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((cb: () => void, ms: number) => {
      delays.push(ms);
      return realSetTimeout(cb, ms);
    }) as typeof setTimeout);
    const p = retry(
      async () => {
        throw timeout();
      },
      { idempotent: true, attempts: 8, baseMs: 10, maxMs: 200, budget: createRetryBudget({ minRetriesPerSecond: 100 }) },
    ).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(5_000);
    await p;
    expect(delays).toHaveLength(7);
    let previous = 10;
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(10);
      expect(d).toBeLessThanOrEqual(Math.min(200, previous * 3));
      previous = d;
    }
  });

  it('does not retry errors retryOn rejects, nor aborts, deadlines, open breakers or bad input', async () => {
    for (const error of [new AbortedError('x'), new DeadlineExceededError('x', 0), new CircuitOpenError('b', 10), new InvalidIdentifierError('id')]) {
      const fn = vi.fn(async () => {
        throw error;
      });
      await expect(retry(fn, { idempotent: true, budget: createRetryBudget() })).rejects.toBe(error);
      expect(fn).toHaveBeenCalledTimes(1);
    }
    const fn = vi.fn(async () => {
      throw timeout();
    });
    await expect(retry(fn, { idempotent: true, retryOn: () => false })).rejects.toBeInstanceOf(TimeoutError);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('classifies database errors: 5xx and network failures retry, 4xx answers do not', () => {
    expect(isRetryableError(new DatabaseError('down', { operation: 'q', httpStatus: 503 }))).toBe(true);
    expect(isRetryableError(new DatabaseError('fetch failed', { operation: 'q' }))).toBe(true);
    expect(isRetryableError(new DatabaseError('duplicate', { operation: 'q', dbCode: '23505', httpStatus: 409 }))).toBe(false);
    expect(isRetryableError(new Error('ECONNRESET'))).toBe(true);
  });

  it('never sleeps past the deadline: gives up with the last error when the next delay would not fit', async () => {
    const fn = vi.fn(async () => {
      throw timeout();
    });
    const p = withDeadline(30, () => retry(fn, { idempotent: true, attempts: 5, baseMs: 40, maxMs: 40, budget: createRetryBudget() })).catch(
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(await p).toBeInstanceOf(TimeoutError);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('stops waiting when the caller aborts during a backoff', async () => {
    const caller = new AbortController();
    const fn = vi.fn(async () => {
      throw timeout();
    });
    const p = retry(fn, { idempotent: true, baseMs: 1_000, maxMs: 1_000, signal: caller.signal, budget: createRetryBudget() }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    caller.abort();
    expect(await p).toBeInstanceOf(AbortedError);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops retrying when the retry budget is spent (≤ 20 % extra plus the floor)', async () => {
    const budget = createRetryBudget({ ratio: 0.2, windowMs: 10_000, minRetriesPerSecond: 0.5 }); // floor: 5 per window
    let calls = 0;
    const failing = async (): Promise<never> => {
      calls++;
      throw timeout();
    };
    for (let i = 0; i < 100; i++) {
      const p = retry(failing, { idempotent: true, attempts: 3, baseMs: 1, maxMs: 1, budget }).catch(() => undefined);
      await vi.advanceTimersByTimeAsync(5);
      await p;
    }
    // 100 first attempts, at most 100 × 0.2 + 5 = 25 retries.
    expect(calls - 100).toBeLessThanOrEqual(25);
    expect(calls - 100).toBeGreaterThanOrEqual(20);
    expect(budget.stats().refused).toBeGreaterThan(0);
  });
});
