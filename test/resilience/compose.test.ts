import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitOpenError, ConfigurationError, TimeoutError } from '../../src/errors.js';
import { createBulkhead } from '../../src/resilience/bulkhead.js';
import { createCircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import { deadlineSignal, withDeadline } from '../../src/resilience/deadline.js';
import { compose } from '../../src/resilience/compose.js';
import type { ResiliencePolicy } from '../../src/resilience/policy.js';
import { createRetryBudget } from '../../src/resilience/retry-budget.js';
import { retry } from '../../src/resilience/retry.js';
import { createTimeout } from '../../src/resilience/timeout.js';

const disposers: Array<() => void> = [];
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  for (const d of disposers.splice(0)) d();
  vi.useRealTimers();
});

function recording(name: string, log: string[]): ResiliencePolicy {
  return {
    async execute(fn, options) {
      log.push(`enter ${name}`);
      try {
        return await fn(options?.signal ?? new AbortController().signal);
      } finally {
        log.push(`leave ${name}`);
      }
    },
  };
}

describe('compose', () => {
  it('nests policies with the first outermost', async () => {
    const log: string[] = [];
    const policy = compose(recording('a', log), recording('b', log), recording('c', log));
    await expect(policy.execute(async () => log.push('fn'))).resolves.toBe(4);
    expect(log).toEqual(['enter a', 'enter b', 'enter c', 'fn', 'leave c', 'leave b', 'leave a']);
  });

  it('a timeout inside the breaker counts as a breaker failure and aborts the work', async () => {
    const breaker = createCircuitBreaker({ name: 'compose-timeout', timeoutMs: Infinity, volumeThreshold: 2 });
    disposers.push(() => breaker.dispose());
    const policy = compose(createBulkhead({ concurrency: 4 }), breaker, createTimeout({ ms: 100, operation: 'load' }));
    const signals: AbortSignal[] = [];
    const hang = (signal: AbortSignal): Promise<never> => {
      signals.push(signal);
      return new Promise<never>(() => undefined);
    };
    const first = policy.execute(hang).catch((e: unknown) => e);
    const second = policy.execute(hang).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(await first).toBeInstanceOf(TimeoutError);
    expect(await second).toBeInstanceOf(TimeoutError);
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(breaker.state).toBe('open');
    await expect(policy.execute(async () => 'x')).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it("passes the caller's abort down to the work", async () => {
    const breaker = createCircuitBreaker({ name: 'compose-abort' });
    disposers.push(() => breaker.dispose());
    const policy = compose(createBulkhead({ concurrency: 1 }), breaker, createTimeout({ ms: 10_000 }));
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const p = policy
      .execute(
        (signal) => {
          seen = signal;
          return new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        },
        { signal: caller.signal },
      )
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    caller.abort();
    await p;
    expect(seen?.aborted).toBe(true);
  });

  it('retry outside the breaker stops as soon as the breaker opens', async () => {
    const breaker = createCircuitBreaker({ name: 'compose-retry', volumeThreshold: 1, timeoutMs: 1_000 });
    disposers.push(() => breaker.dispose());
    const policy = compose(breaker);
    const fn = vi.fn(async () => {
      throw new Error('ECONNREFUSED');
    });
    const p = retry((signal) => policy.execute(fn, { signal }), { idempotent: true, attempts: 5, baseMs: 1, maxMs: 5, budget: createRetryBudget() }).catch(
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(await p).toBeInstanceOf(CircuitOpenError);
    expect(fn).toHaveBeenCalledTimes(1); // the second attempt met the open breaker
  });

  it('10,000 calls through the full composition leave no listener on the shared parent or deadline signal', async () => {
    vi.useRealTimers();
    const breaker = createCircuitBreaker({ name: 'compose-leak', timeoutMs: 5_000 });
    disposers.push(() => breaker.dispose());
    const policy = compose(createBulkhead({ concurrency: 8, queue: 100 }), breaker, createTimeout({ ms: 5_000 }));
    const parent = new AbortController();
    const left = await withDeadline(60_000, async () => {
      for (let i = 0; i < 10_000; i++) await policy.execute(async () => i, { signal: parent.signal });
      await policy.execute(() => Promise.reject(new Error('x')), { signal: parent.signal }).catch(() => undefined);
      const deadline = deadlineSignal();
      return deadline === undefined ? -1 : getEventListeners(deadline, 'abort').length;
    });
    expect(left).toBe(0);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
  });

  it('rejects something that is not a policy', () => {
    expect(() => compose({} as ResiliencePolicy)).toThrow(ConfigurationError);
  });
});
