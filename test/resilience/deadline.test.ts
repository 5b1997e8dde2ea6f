import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortedError, ConfigurationError, DeadlineExceededError, isDeadlineExceededError } from '../../src/errors.js';
import {
  abortError,
  currentDeadline,
  deadlineSignal,
  remainingMs,
  resolveBudget,
  withDeadline,
} from '../../src/resilience/deadline.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('withDeadline', () => {
  it('exposes the budget to code inside and nothing outside', async () => {
    expect(remainingMs()).toBe(Infinity);
    expect(currentDeadline()).toBeUndefined();
    expect(deadlineSignal()).toBeUndefined();
    await withDeadline(1_000, async (signal) => {
      expect(remainingMs()).toBeGreaterThan(900);
      expect(remainingMs()).toBeLessThanOrEqual(1_000);
      expect(deadlineSignal()).toBe(signal);
      const d = currentDeadline();
      expect(d?.signal).toBe(signal);
      expect(d?.at).toBeGreaterThan(Date.now() + 900);
      await new Promise((r) => setTimeout(r, 1));
      expect(deadlineSignal()).toBe(signal); // survives an await
    });
    expect(remainingMs()).toBe(Infinity);
  });

  it('a nested deadline is never later than its parent', async () => {
    await withDeadline(100, async () => {
      await withDeadline(10_000, async () => {
        expect(remainingMs()).toBeLessThanOrEqual(100);
      });
      await withDeadline(20, async () => {
        expect(remainingMs()).toBeLessThanOrEqual(20);
      });
    });
  });

  it('settles at the deadline with DeadlineExceededError even when fn ignores its signal, and aborts the signal', async () => {
    vi.useFakeTimers();
    let seen: AbortSignal | undefined;
    const p = withDeadline(
      50,
      (signal) => {
        seen = signal;
        return new Promise<never>(() => undefined);
      },
      { operation: 'request' },
    ).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(50);
    const err = await p;
    expect(isDeadlineExceededError(err)).toBe(true);
    expect((err as DeadlineExceededError).operation).toBe('request');
    expect(seen?.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a parent deadline aborts the nested signal', async () => {
    vi.useFakeTimers();
    let inner: AbortSignal | undefined;
    const p = withDeadline(30, () =>
      withDeadline(10_000, (signal) => {
        inner = signal;
        return new Promise<never>(() => undefined);
      }),
    ).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(30);
    expect(await p).toBeInstanceOf(DeadlineExceededError);
    expect(inner?.aborted).toBe(true);
  });

  it('fails at once below the floor, without calling fn', async () => {
    const fn = vi.fn(async () => 1);
    await expect(withDeadline(0.5, fn)).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(withDeadline(5, fn, { floorMs: 10 })).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(fn).not.toHaveBeenCalled();
  });

  it('aborts with AbortedError when the caller signal aborts, and removes its listener', async () => {
    const caller = new AbortController();
    const p = withDeadline(10_000, () => new Promise<never>(() => undefined), { signal: caller.signal }).catch((e: unknown) => e);
    caller.abort(new Error('gone'));
    const err = await p;
    expect(err).toBeInstanceOf(AbortedError);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    await expect(withDeadline(100, async () => 1, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
  });

  it('passes through the value and errors of fn', async () => {
    await expect(withDeadline(100, () => 7)).resolves.toBe(7);
    const boom = new Error('boom');
    await expect(withDeadline(100, () => Promise.reject(boom))).rejects.toBe(boom);
  });

  it.each([-1, Number.NaN, Infinity, '10' as unknown as number])('rejects ms=%s with ConfigurationError', async (ms) => {
    await expect(withDeadline(ms, async () => 1)).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('rejects a negative floorMs with ConfigurationError', async () => {
    await expect(withDeadline(100, async () => 1, { floorMs: -1 })).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('leaves no listener on a long-lived parent signal after 10,000 calls', async () => {
    const parent = new AbortController();
    for (let i = 0; i < 10_000; i++) await withDeadline(1_000, async () => i, { signal: parent.signal });
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
  });
});

describe('resolveBudget', () => {
  it('is the own timeout outside a deadline', () => {
    expect(resolveBudget(250, 'op')).toEqual({ ms: 250, deadlineBound: false, signal: undefined });
  });

  it('is min(own, remaining) inside a deadline and says which bound applies', async () => {
    await withDeadline(100, async (signal) => {
      const short = resolveBudget(10, 'op');
      expect(short).toMatchObject({ ms: 10, deadlineBound: false, signal });
      const long = resolveBudget(10_000, 'op');
      expect(long.deadlineBound).toBe(true);
      expect(long.ms).toBeLessThanOrEqual(100);
    });
  });

  it('throws DeadlineExceededError below the floor', async () => {
    await withDeadline(5, async () => {
      expect(() => resolveBudget(1_000, 'op', 10)).toThrow(DeadlineExceededError);
    });
  });
});

describe('abortError', () => {
  it('passes a supaguard reason through and wraps anything else in AbortedError', () => {
    const deadline = new DeadlineExceededError('x', 0);
    expect(abortError(AbortSignal.abort(deadline), 'op')).toBe(deadline);
    const reason = new Error('why');
    const err = abortError(AbortSignal.abort(reason), 'op');
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as AbortedError).cause).toBe(reason);
  });
});
