import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { createRetryBudget } from '../../src/resilience/retry-budget.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createRetryBudget', () => {
  it('allows the floor with no traffic, then ratio × requests', () => {
    const budget = createRetryBudget({ ratio: 0.2, windowMs: 1_000, minRetriesPerSecond: 2 });
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    for (let i = 0; i < 10; i++) budget.recordRequest();
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    expect(budget.stats()).toMatchObject({ requests: 10, retries: 4, available: 0, refused: 2 });
  });

  it('forgets what slid out of the window', () => {
    const budget = createRetryBudget({ ratio: 0, windowMs: 1_000, minRetriesPerSecond: 1 });
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    vi.advanceTimersByTime(500);
    expect(budget.tryRetry()).toBe(false);
    vi.advanceTimersByTime(600);
    expect(budget.tryRetry()).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(budget.stats()).toMatchObject({ requests: 0, retries: 0, available: 1 });
  });

  it.each([{ ratio: -1 }, { windowMs: 0 }, { windowMs: Infinity }, { minRetriesPerSecond: -1 }])('rejects %o', (options) => {
    expect(() => createRetryBudget(options)).toThrow(ConfigurationError);
  });
});
