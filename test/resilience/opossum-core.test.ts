import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OpossumCore, type OpossumCoreOptions, type OpossumTransition } from '../../src/resilience/opossum-core.js';
import { activeSharedClocks } from '../../src/resilience/shared-clock.js';

const cores: OpossumCore[] = [];
function core(options: Partial<OpossumCoreOptions> = {}): { core: OpossumCore; transitions: OpossumTransition[] } {
  const transitions: OpossumTransition[] = [];
  const c = new OpossumCore({
    name: 'core-test',
    windowMs: 10_000,
    buckets: 10,
    resetTimeoutMs: 1_000,
    errorThresholdPercentage: 50,
    volumeThreshold: 4,
    onTransition: (to) => transitions.push(to),
    ...options,
  });
  cores.push(c);
  return { core: c, transitions };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const c of cores.splice(0)) c.dispose();
  vi.useRealTimers();
});

describe('OpossumCore', () => {
  it('counts into the rolling window that windowCounts reads', () => {
    const { core: c } = core();
    for (let i = 0; i < 3; i++) c.counter.fire();
    c.counter.success();
    c.counter.failure();
    c.counter.failure();
    expect(c.windowCounts()).toEqual({ fires: 3, successes: 1, failures: 2 });
  });

  it('counts a failure, then applies the open rule: nothing below volumeThreshold, then a failure percentage above the threshold', () => {
    const { core: c, transitions } = core({ volumeThreshold: 4, errorThresholdPercentage: 50 });
    for (let i = 0; i < 3; i++) {
      c.counter.fire();
      c.recordFailure(true);
    }
    expect(c.windowCounts()).toEqual({ fires: 3, successes: 0, failures: 3 });
    expect(transitions).toEqual([]); // 100 % failures, but only 3 calls
    c.counter.fire();
    c.recordFailure(true);
    expect(transitions).toEqual(['open']);
  });

  it('does not open at exactly the threshold percentage', () => {
    const { core: c, transitions } = core({ volumeThreshold: 2, errorThresholdPercentage: 50 });
    c.counter.fire();
    c.counter.success();
    c.counter.fire();
    c.recordFailure(true);
    expect(transitions).toEqual([]);
  });

  it('a failure while the breaker is not closed is only counted', () => {
    const { core: c, transitions } = core({ volumeThreshold: 1 });
    c.counter.fire();
    c.recordFailure(false);
    expect(c.windowCounts().failures).toBe(1);
    expect(transitions).toEqual([]);
  });

  it('retryAfterMs counts down the reset timeout from the last open', async () => {
    const { core: c } = core({ resetTimeoutMs: 1_000 });
    c.open();
    expect(c.retryAfterMs()).toBeCloseTo(1_000, 0);
    await vi.advanceTimersByTimeAsync(400);
    expect(c.retryAfterMs()).toBeCloseTo(600, 0);
  });

  it('reports open, then half-open after resetTimeoutMs, then close', async () => {
    const { core: c, transitions } = core({ resetTimeoutMs: 1_000 });
    c.open();
    expect(transitions).toEqual(['open']);
    await vi.advanceTimersByTimeAsync(999);
    expect(transitions).toEqual(['open']);
    await vi.advanceTimersByTimeAsync(1);
    expect(transitions).toEqual(['open', 'half-open']);
    c.close();
    expect(transitions).toEqual(['open', 'half-open', 'close']);
  });

  it('forget empties the window', () => {
    const { core: c } = core({ buckets: 5 });
    c.counter.fire();
    c.counter.failure();
    c.forget();
    expect(c.windowCounts()).toEqual({ fires: 0, successes: 0, failures: 0 });
  });

  it('the shared clock rotates old counts out of the window', async () => {
    const { core: c } = core({ windowMs: 1_000, buckets: 4 });
    c.counter.fire();
    c.counter.failure();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(c.windowCounts()).toEqual({ fires: 0, successes: 0, failures: 0 });
  });

  it('dispose lets go of the shared clock and stops the reset timer', async () => {
    const before = activeSharedClocks();
    const { core: c, transitions } = core({ windowMs: 7_770, buckets: 7 }); // a bucket length no other core uses
    expect(activeSharedClocks()).toBe(before + 1);
    c.open();
    c.dispose();
    expect(activeSharedClocks()).toBe(before);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(transitions).toEqual(['open']);
  });
});
