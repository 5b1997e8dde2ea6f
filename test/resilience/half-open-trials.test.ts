import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AbortedError, TimeoutError } from '../../src/errors.js';
import { BreakerEvents } from '../../src/resilience/breaker-events.js';
import { BreakerOutcomes } from '../../src/resilience/breaker-outcomes.js';
import { HalfOpenTrials } from '../../src/resilience/half-open-trials.js';

class NotFound extends Error {}

function setup(limit: number, timeoutMs = Infinity): { trials: HalfOpenTrials; outcomes: BreakerOutcomes; opossum: { open: ReturnType<typeof vi.fn>; close: ReturnType<typeof vi.fn> } } {
  const outcomes = new BreakerOutcomes((err) => err instanceof NotFound, 16, new BreakerEvents());
  const opossum = { open: vi.fn(), close: vi.fn() };
  return { trials: new HalfOpenTrials(limit, 'trials-test', timeoutMs, outcomes, opossum), outcomes, opossum };
}

function trial<T>(trials: HalfOpenTrials, fn: (signal: AbortSignal) => T | Promise<T>, fallback?: (error: unknown) => T): Promise<T> {
  return trials.run(fn, undefined, Infinity, undefined, performance.now(), fallback);
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('HalfOpenTrials', () => {
  it('admits exactly limit trials per phase', () => {
    const { trials } = setup(2);
    expect([trials.admit(), trials.admit(), trials.admit()]).toEqual([true, true, false]);
    trials.reset();
    expect(trials.admit()).toBe(true);
  });

  it('closes after limit successes, not before', async () => {
    const { trials, opossum, outcomes } = setup(2);
    await expect(trial(trials, () => 'a')).resolves.toBe('a');
    expect(opossum.close).not.toHaveBeenCalled();
    await expect(trial(trials, async () => 'b')).resolves.toBe('b');
    expect(opossum.close).toHaveBeenCalledTimes(1);
    expect(outcomes.counts().successes).toBe(2);
  });

  it('reopens on one failure, which the fallback may still answer', async () => {
    const { trials, opossum } = setup(3);
    await expect(
      trial(
        trials,
        () => Promise.reject(new Error('down')),
        () => 'cached',
      ),
    ).resolves.toBe('cached');
    expect(opossum.open).toHaveBeenCalledTimes(1);
    expect(opossum.close).not.toHaveBeenCalled();
  });

  it('a function that throws synchronously is a failed trial', async () => {
    const { trials, opossum } = setup(1);
    const error = new Error('sync');
    await expect(
      trial(trials, () => {
        throw error;
      }),
    ).rejects.toBe(error);
    expect(opossum.open).toHaveBeenCalledTimes(1);
  });

  it('a filtered error counts as an answer: the dependency responded', async () => {
    const { trials, opossum } = setup(1);
    const notFound = new NotFound();
    await expect(trial(trials, () => Promise.reject(notFound))).rejects.toBe(notFound);
    expect(opossum.open).not.toHaveBeenCalled();
    expect(opossum.close).toHaveBeenCalledTimes(1);
  });

  it("a caller's abort frees its slot and judges nothing", async () => {
    const { trials, opossum } = setup(1);
    expect(trials.admit()).toBe(true);
    expect(trials.admit()).toBe(false);
    await expect(trial(trials, () => Promise.reject(new AbortedError('op')))).rejects.toBeInstanceOf(AbortedError);
    expect(opossum.open).not.toHaveBeenCalled();
    expect(opossum.close).not.toHaveBeenCalled();
    expect(trials.admit()).toBe(true);
  });

  it('ignores results of trials from before a reset', async () => {
    const { trials, opossum, outcomes } = setup(1);
    let fail!: (error: unknown) => void;
    const late = trial(trials, () => new Promise<never>((_, reject) => (fail = reject)));
    trials.reset();
    fail(new Error('down'));
    await expect(late).rejects.toThrow('down');
    expect(opossum.open).not.toHaveBeenCalled();
    expect(outcomes.counts().failures).toBe(1); // still counted, only not judged
  });

  it("runs each trial under the breaker's timeout", async () => {
    const { trials, opossum } = setup(1, 100);
    const seen: AbortSignal[] = [];
    const pending = trial(trials, (signal) => {
      seen.push(signal);
      return new Promise<never>(() => undefined);
    }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(await pending).toBeInstanceOf(TimeoutError);
    expect(seen[0]?.aborted).toBe(true);
    expect(opossum.open).toHaveBeenCalledTimes(1);
  });
});
