import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AbortedError,
  ConfigurationError,
  DeadlineExceededError,
  TimeoutError,
  isAbortedError,
  isDeadlineExceededError,
  isTimeoutError,
} from '../../src/errors.js';
import { deadlineSignal, remainingMs, withDeadline } from '../../src/resilience/deadline.js';
import { withTimeout } from '../../src/resilience/timeout.js';

/** Work that only ends when its signal aborts, like a well-behaved fetch. */
const untilAborted = (signal: AbortSignal): Promise<never> =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true }));

afterEach(() => {
  vi.useRealTimers();
});

describe('withTimeout', () => {
  it('resolves with the value of fn and hands it a live signal', async () => {
    let seen: AbortSignal | undefined;
    const value = await withTimeout(
      async (signal) => {
        seen = signal;
        return 42;
      },
      { ms: 1_000 },
    );
    expect(value).toBe(42);
    expect(seen).toBeInstanceOf(AbortSignal);
    expect(seen?.aborted).toBe(false);
  });

  it('rejects with TimeoutError carrying operation, elapsed and limit, and aborts the signal', async () => {
    vi.useFakeTimers();
    let seen: AbortSignal | undefined;
    const pending = withTimeout(
      (signal) => {
        seen = signal;
        return untilAborted(signal);
      },
      { ms: 200, operation: 'profile.fetch' },
    );
    const assertion = expect(pending).rejects.toSatisfy((err: unknown) => {
      expect(isTimeoutError(err)).toBe(true);
      const e = err as TimeoutError;
      expect(e.code).toBe('E_TIMEOUT');
      expect(e.operation).toBe('profile.fetch');
      expect(e.timeoutMs).toBe(200);
      expect(e.elapsedMs).toBeGreaterThanOrEqual(200);
      return true;
    });
    await vi.advanceTimersByTimeAsync(200);
    await assertion;
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TimeoutError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('answers with the fallback on its own timeout', async () => {
    vi.useFakeTimers();
    const fallback = vi.fn((err: TimeoutError) => `fallback:${err.operation}`);
    const pending = withTimeout(untilAborted, { ms: 50, operation: 'cache.get', fallback });
    await vi.advanceTimersByTimeAsync(50);
    await expect(pending).resolves.toBe('fallback:cache.get');
    expect(fallback).toHaveBeenCalledTimes(1);
  });

  it('does not call the fallback when fn fails on its own', async () => {
    const fallback = vi.fn(() => 'nope');
    const boom = new Error('boom');
    await expect(withTimeout(() => Promise.reject(boom), { ms: 1_000, fallback })).rejects.toBe(boom);
    expect(fallback).not.toHaveBeenCalled();
  });

  it('aborts the signal when fn fails, so work it left behind stops; keeps it live on success', async () => {
    let failed: AbortSignal | undefined;
    const boom = new Error('boom');
    await withTimeout(
      (signal) => {
        failed = signal;
        return Promise.reject(boom);
      },
      { ms: 1_000 },
    ).catch(() => undefined);
    expect(failed?.aborted).toBe(true);
    expect(failed?.reason).toBe(boom);
    let succeeded: AbortSignal | undefined;
    await withTimeout(
      async (signal) => {
        succeeded = signal;
      },
      { ms: 1_000 },
    );
    expect(succeeded?.aborted).toBe(false);
  });

  it('turns a synchronous throw into a rejection', async () => {
    const boom = new Error('sync');
    await expect(
      withTimeout(
        () => {
          throw boom;
        },
        { ms: 1_000 },
      ),
    ).rejects.toBe(boom);
  });

  it("aborts fn's signal when the caller's signal aborts, with AbortedError", async () => {
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const pending = withTimeout(
      (signal) => {
        seen = signal;
        return untilAborted(signal);
      },
      { ms: 60_000, signal: caller.signal, operation: 'slow' },
    );
    const reason = new Error('client went away');
    caller.abort(reason);
    const err = await pending.catch((e: unknown) => e);
    expect(isAbortedError(err)).toBe(true);
    expect((err as AbortedError).operation).toBe('slow');
    expect((err as AbortedError).cause).toBe(reason);
    expect(seen?.aborted).toBe(true);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('fails at once, without calling fn, when the caller signal is already aborted', async () => {
    const fn = vi.fn(async () => 1);
    await expect(withTimeout(fn, { ms: 100, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
    expect(fn).not.toHaveBeenCalled();
  });

  it('is bounded by the ambient deadline and then throws DeadlineExceededError, skipping the fallback', async () => {
    const fallback = vi.fn(() => 'late');
    let seen: AbortSignal | undefined;
    const started = performance.now();
    const err = await withDeadline(200, () =>
      withTimeout(
        (signal) => {
          seen = signal;
          return untilAborted(signal);
        },
        { ms: 10_000, fallback, operation: 'inner' },
      ),
    ).catch((e: unknown) => e);
    expect(isDeadlineExceededError(err)).toBe(true);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(seen?.aborted).toBe(true);
    expect(fallback).not.toHaveBeenCalled();
  });

  it('refuses to start below the deadline floor', async () => {
    const fn = vi.fn(async () => 1);
    const err = await withDeadline(20, async () => {
      // Spin (no await) until less than the 1 ms floor is left; the deadline timer cannot fire meanwhile.
      while (remainingMs() >= 0.9) {
        /* busy */
      }
      return withTimeout(fn, { ms: 1_000, operation: 'too-late' });
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(fn).not.toHaveBeenCalled();
  });

  it.each([0, -1, Number.NaN, '5' as unknown as number])('rejects ms=%s with ConfigurationError', async (ms) => {
    await expect(withTimeout(async () => 1, { ms })).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('accepts Infinity (only the deadline bounds the call)', async () => {
    await expect(withTimeout(async () => 'ok', { ms: Infinity })).resolves.toBe('ok');
  });

  it('leaves no listener on a long-lived parent signal after 10,000 calls', async () => {
    const parent = new AbortController();
    for (let i = 0; i < 10_000; i++) {
      await withTimeout(async () => i, { ms: 1_000, signal: parent.signal });
    }
    // Failed and timed-out calls must clean up too.
    await withTimeout(() => Promise.reject(new Error('x')), { ms: 1_000, signal: parent.signal }).catch(() => undefined);
    await withTimeout(untilAborted, { ms: 1, signal: parent.signal }).catch(() => undefined);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
  });

  it('leaves no listener on the deadline signal after 10,000 calls inside one deadline', async () => {
    const count = await withDeadline(30_000, async () => {
      for (let i = 0; i < 10_000; i++) await withTimeout(async () => i, { ms: 1_000 });
      const signal = deadlineSignal();
      return signal === undefined ? -1 : getEventListeners(signal, 'abort').length;
    });
    expect(count).toBe(0);
  });
});
