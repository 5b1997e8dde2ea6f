import { describe, expect, it, vi } from 'vitest';
import { AbortedError, CircuitOpenError, DeadlineExceededError, TimeoutError } from '../../src/errors.js';
import { BreakerEvents } from '../../src/resilience/breaker-events.js';
import { BreakerOutcomes } from '../../src/resilience/breaker-outcomes.js';

class NotFound extends Error {}

function setup(errorFilter?: (error: unknown) => boolean): { outcomes: BreakerOutcomes; events: BreakerEvents } {
  const events = new BreakerEvents();
  return { outcomes: new BreakerOutcomes(errorFilter, 16, events), events };
}

const zero = { calls: 0, successes: 0, failures: 0, timeouts: 0, rejects: 0, filtered: 0, aborted: 0, fallbacks: 0 };

describe('BreakerOutcomes.classify', () => {
  it('a caller abort is aborted, even when errorFilter would excuse it', () => {
    const { outcomes } = setup(() => true);
    expect(outcomes.classify(new AbortedError('op'))).toBe('aborted');
  });

  it('without errorFilter every other error is a failure', () => {
    const { outcomes } = setup();
    expect(outcomes.classify(new NotFound())).toBe('failure');
    expect(outcomes.classify(undefined)).toBe('failure');
  });

  it('errors errorFilter excuses are filtered; a throwing errorFilter excuses nothing', () => {
    const { outcomes } = setup((err) => {
      if (err === 'boom') throw new Error('filter bug');
      return err instanceof NotFound;
    });
    expect(outcomes.classify(new NotFound())).toBe('filtered');
    expect(outcomes.classify(new Error('down'))).toBe('failure');
    expect(outcomes.classify('boom')).toBe('failure');
  });
});

describe('BreakerOutcomes.settled', () => {
  it('counts each outcome, samples the latency of all but aborts, and tells the success and failure listeners', () => {
    const { outcomes, events } = setup();
    const success = vi.fn();
    const failure = vi.fn();
    const timeout = vi.fn();
    events.success.add(success);
    events.failure.add(failure);
    events.timeout.add(timeout);
    const started = performance.now();
    const down = new Error('down');
    outcomes.settled('success', undefined, started);
    outcomes.settled('failure', down, started);
    outcomes.settled('filtered', new NotFound(), started);
    outcomes.settled('aborted', new AbortedError('op'), started);
    expect(outcomes.counts()).toEqual({ ...zero, successes: 1, failures: 1, filtered: 1, aborted: 1 });
    expect(outcomes.latencySummary().samples).toBe(3);
    expect(success).toHaveBeenCalledWith(expect.any(Number));
    expect(failure).toHaveBeenCalledWith(down, expect.any(Number));
    expect(timeout).not.toHaveBeenCalled();
  });

  it('counts timeouts and deadline expiries as failures that are also timeouts', () => {
    const { outcomes, events } = setup();
    const timeout = vi.fn();
    const failure = vi.fn();
    events.timeout.add(timeout);
    events.failure.add(failure);
    const started = performance.now();
    outcomes.settled('failure', new TimeoutError({ operation: 'op', elapsedMs: 5, timeoutMs: 5 }), started);
    outcomes.settled('failure', new DeadlineExceededError('op', 0), started);
    expect(outcomes.counts()).toMatchObject({ failures: 2, timeouts: 2 });
    expect(timeout).toHaveBeenCalledTimes(2);
    expect(failure).toHaveBeenCalledTimes(2);
  });

  it('the latency is measured from started', () => {
    const { outcomes } = setup();
    outcomes.settled('success', undefined, performance.now() - 40);
    expect(outcomes.latencySummary().max).toBeGreaterThanOrEqual(40);
  });
});

describe('BreakerOutcomes.failed and rejected', () => {
  it('a failure is answered by the fallback, which is counted and reported', async () => {
    const { outcomes, events } = setup();
    const fellBack = vi.fn();
    events.fallback.add(fellBack);
    const down = new Error('down');
    await expect(outcomes.failed(down, outcomes.classify(down), performance.now(), (err) => `fallback for ${(err as Error).message}`)).resolves.toBe('fallback for down');
    expect(outcomes.counts()).toMatchObject({ failures: 1, fallbacks: 1 });
    expect(fellBack).toHaveBeenCalledWith(down);
  });

  it('a filtered error or an abort is rethrown, never given to the fallback', async () => {
    const { outcomes } = setup((err) => err instanceof NotFound);
    const fallback = vi.fn(() => 'fallback');
    const notFound = new NotFound();
    const aborted = new AbortedError('op');
    await expect(outcomes.failed(notFound, outcomes.classify(notFound), performance.now(), fallback)).rejects.toBe(notFound);
    await expect(outcomes.failed(aborted, outcomes.classify(aborted), performance.now(), fallback)).rejects.toBe(aborted);
    expect(fallback).not.toHaveBeenCalled();
    expect(outcomes.counts()).toEqual({ ...zero, filtered: 1, aborted: 1 });
  });

  it('a failure without a fallback is rethrown as it is', async () => {
    const { outcomes } = setup();
    await expect(outcomes.failed(undefined, outcomes.classify(undefined), performance.now(), undefined)).rejects.toBeUndefined();
    expect(outcomes.counts().failures).toBe(1);
  });

  it('a rejection is counted and reported, then thrown or answered by the fallback', async () => {
    const { outcomes, events } = setup();
    const rejected = vi.fn();
    events.reject.add(rejected);
    const open = new CircuitOpenError('db', 100);
    await expect(outcomes.rejected(open, undefined)).rejects.toBe(open);
    await expect(outcomes.rejected(open, () => 'cached')).resolves.toBe('cached');
    expect(rejected).toHaveBeenCalledTimes(2);
    expect(outcomes.counts()).toEqual({ ...zero, rejects: 2, fallbacks: 1 });
  });

  it('a fallback that throws is not counted as having answered', async () => {
    const { outcomes } = setup();
    const fallbackError = new Error('fallback down too');
    const down = new Error('down');
    await expect(
      outcomes.failed(down, outcomes.classify(down), performance.now(), () => {
        throw fallbackError;
      }),
    ).rejects.toBe(fallbackError);
    expect(outcomes.counts().fallbacks).toBe(0);
  });
});

describe('BreakerOutcomes.counts', () => {
  it('lists the counters in the order of CircuitBreakerStats', () => {
    const { outcomes } = setup();
    outcomes.calls++;
    expect(Object.keys(outcomes.counts())).toEqual(['calls', 'successes', 'failures', 'timeouts', 'rejects', 'filtered', 'aborted', 'fallbacks']);
    expect(outcomes.counts().calls).toBe(1);
  });
});
