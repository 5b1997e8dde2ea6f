import { afterEach, describe, expect, it, vi } from 'vitest';
import { COARSE_MARGIN_MS, coarseNow } from '../../src/cache/coarse-clock.js';
import { createAuthorizationCache, memoryLayer } from '../../src/index.js';
import { controllableLoader, req } from './fixtures.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('coarse clock (L1 hit path)', () => {
  it('stays within a few ms of Date.now while the event loop turns', async () => {
    for (let i = 0; i < 20; i++) {
      const before = Date.now();
      const coarse = coarseNow();
      expect(coarse).toBeLessThanOrEqual(Date.now());
      // At most ~1 ms old plus timer lateness on a loaded machine; far below the margin it is trusted with.
      expect(before - coarse).toBeLessThan(COARSE_MARGIN_MS / 10);
      await new Promise((r) => setTimeout(r, 2));
    }
  });

  it('follows fake timers exactly, even within the same millisecond', () => {
    coarseNow(); // a real reading is cached now
    vi.useFakeTimers();
    vi.setSystemTime(Date.now() + 3_600_000);
    expect(coarseNow()).toBe(Date.now());
    vi.setSystemTime(Date.now() + 5);
    expect(coarseNow()).toBe(Date.now());
  });

  it('an L1 entry expires at its TTL under fake time, with no real wait (setSystemTime honoured at once)', async () => {
    const { loader, state } = controllableLoader();
    vi.useFakeTimers({ toFake: ['Date'] });
    const cache = createAuthorizationCache({ layers: [memoryLayer({ max: 10 })], loader, ttlMs: 60_000, jitter: 0 });
    const r = req();
    await cache.check(r);
    vi.setSystemTime(Date.now() + 59_990);
    await cache.check(r);
    expect(cache.peek(r)).toEqual({ allowed: true });
    expect(state.calls).toBe(1);
    vi.setSystemTime(Date.now() + 20);
    expect(cache.peek(r)).toBeUndefined();
    await cache.check(r);
    expect(state.calls).toBe(2);
    await cache.close();
  });

  it('near expiry the hit path reads the exact clock (an entry is never served past expiresAt)', async () => {
    const { loader, state } = controllableLoader();
    const cache = createAuthorizationCache({ layers: [memoryLayer({ max: 10 })], loader, ttlMs: 200, jitter: 0 });
    const r = req();
    await cache.check(r);
    const expiresAt = Date.now() + 200;
    while (Date.now() < expiresAt - 100) {
      await cache.check(r);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(state.calls).toBe(1);
    while (Date.now() <= expiresAt + 1) await new Promise((resolve) => setImmediate(resolve));
    expect(cache.peek(r)).toBeUndefined();
    await cache.close();
  });
});
