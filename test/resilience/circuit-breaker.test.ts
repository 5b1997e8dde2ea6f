import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitOpenError,
  ConfigurationError,
  TimeoutError,
  isAbortedError,
  isCircuitOpenError,
  isDeadlineExceededError,
} from '../../src/errors.js';
import { createCircuitBreaker, type CircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import { listCircuitBreakers } from '../../src/resilience/circuit-registry.js';
import { withDeadline } from '../../src/resilience/deadline.js';
import { activeSharedClocks } from '../../src/resilience/shared-clock.js';

class NotFound extends Error {}

const created: Array<{ dispose(): void }> = [];
function breakerFor<A extends unknown[], R>(...args: Parameters<typeof createCircuitBreaker<A, R>>): CircuitBreaker<A, Awaited<R>> {
  const b = createCircuitBreaker(...args);
  created.push(b);
  return b;
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const fail = async (): Promise<never> => {
  throw new Error('dependency down');
};

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const b of created.splice(0)) b.dispose();
  vi.useRealTimers();
});

describe('createCircuitBreaker — state machine (fake timers)', () => {
  it('opens after the failure threshold, then rejects with CircuitOpenError without calling fn', async () => {
    const fn = vi.fn(fail);
    const b = breakerFor(fn, { name: 'db', volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 1_000 });
    const opened = vi.fn();
    const rejected = vi.fn();
    b.onOpen(opened);
    b.onReject(rejected);
    for (let i = 0; i < 3; i++) await expect(b.fire()).rejects.toThrow('dependency down');
    expect(b.state).toBe('open');
    expect(opened).toHaveBeenCalledTimes(1);

    const err = await b.fire().catch((e: unknown) => e);
    expect(isCircuitOpenError(err)).toBe(true);
    expect((err as CircuitOpenError).breaker).toBe('db');
    expect((err as CircuitOpenError).retryAfterMs).toBeGreaterThan(0);
    expect((err as CircuitOpenError).retryAfterMs).toBeLessThanOrEqual(1_000);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(rejected).toHaveBeenCalledTimes(1);
    expect(b.stats()).toMatchObject({ state: 'open', failures: 3, rejects: 1, calls: 3 });
  });

  it('does not count errorFilter-ed errors: they are rethrown and never open the breaker', async () => {
    const notFound = new NotFound('no such row');
    const b = breakerFor(async () => Promise.reject(notFound), {
      name: 'lookup',
      volumeThreshold: 1,
      errorFilter: (err) => err instanceof NotFound,
    });
    const failures = vi.fn();
    b.onFailure(failures);
    for (let i = 0; i < 20; i++) await expect(b.fire()).rejects.toBe(notFound);
    expect(b.state).toBe('closed');
    expect(failures).not.toHaveBeenCalled();
    expect(b.stats()).toMatchObject({ failures: 0, filtered: 20 });
  });

  it('asks errorFilter once per failed call, closed and half-open (a filter may log or count)', async () => {
    const filter = vi.fn((err: unknown) => err instanceof NotFound);
    let error: Error = new Error('down');
    const b = breakerFor(async () => Promise.reject(error), { name: 'filter-once', volumeThreshold: 1, resetTimeoutMs: 1_000, errorFilter: filter });
    await expect(b.fire()).rejects.toBe(error);
    expect(b.state).toBe('open');
    expect(filter).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(b.state).toBe('half-open');
    error = new NotFound('no such row');
    await expect(b.fire()).rejects.toBe(error);
    expect(filter).toHaveBeenCalledTimes(2);
    expect(b.state).toBe('closed');
  });

  it('half-open admits exactly the configured number of trials, and closes after that many successes', async () => {
    let healthy = false;
    const gates: Array<ReturnType<typeof deferred<string>>> = [];
    const fn = vi.fn(async () => {
      if (!healthy) throw new Error('down');
      const gate = deferred<string>();
      gates.push(gate);
      return gate.promise;
    });
    const b = breakerFor(fn, { name: 'trials', volumeThreshold: 2, resetTimeoutMs: 5_000, halfOpenTrials: 3 });
    const halfOpened = vi.fn();
    const closed = vi.fn();
    b.onHalfOpen(halfOpened);
    b.onClose(closed);
    await b.fire().catch(() => undefined);
    await b.fire().catch(() => undefined);
    expect(b.state).toBe('open');

    await vi.advanceTimersByTimeAsync(4_999);
    expect(b.state).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(b.state).toBe('half-open');
    expect(halfOpened).toHaveBeenCalledTimes(1);

    healthy = true;
    const trials = [b.fire(), b.fire(), b.fire()];
    await vi.advanceTimersByTimeAsync(0);
    await expect(b.fire()).rejects.toBeInstanceOf(CircuitOpenError); // a fourth call is not a trial
    expect(gates).toHaveLength(3);

    gates[0]?.resolve('a');
    gates[1]?.resolve('b');
    await vi.advanceTimersByTimeAsync(0);
    expect(b.state).toBe('half-open'); // two successes are not enough
    gates[2]?.resolve('c');
    await expect(Promise.all(trials)).resolves.toEqual(['a', 'b', 'c']);
    expect(b.state).toBe('closed');
    expect(closed).toHaveBeenCalledTimes(1);
  });

  it('publishes every transition on supaguard:breaker:state', async () => {
    const events: unknown[] = [];
    const onState = (m: unknown): void => void events.push(m);
    subscribe('supaguard:breaker:state', onState);
    try {
      let healthy = false;
      const b = breakerFor(
        async () => {
          if (!healthy) throw new Error('down');
          return 1;
        },
        { name: 'channel', volumeThreshold: 1, resetTimeoutMs: 100 },
      );
      await b.fire().catch(() => undefined);
      await vi.advanceTimersByTimeAsync(100);
      healthy = true;
      await b.fire();
      expect(events).toEqual([
        { name: 'channel', from: 'closed', to: 'open' },
        { name: 'channel', from: 'open', to: 'half-open' },
        { name: 'channel', from: 'half-open', to: 'closed' },
      ]);
    } finally {
      unsubscribe('supaguard:breaker:state', onState);
    }
  });

  it('reopens on a failed trial and half-opens again after the reset timeout', async () => {
    const fn = vi.fn(fail);
    const b = breakerFor(fn, { name: 'reopen', volumeThreshold: 1, resetTimeoutMs: 1_000, halfOpenTrials: 2 });
    const opened = vi.fn();
    b.onOpen(opened);
    await b.fire().catch(() => undefined);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(b.state).toBe('half-open');
    await expect(b.fire()).rejects.toThrow('dependency down');
    expect(b.state).toBe('open');
    expect(opened).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(b.state).toBe('half-open');
  });

  it('starts from a clean window when it closes: one new failure does not reopen it', async () => {
    let healthy = false;
    const b = breakerFor(
      async () => {
        if (!healthy) throw new Error('down');
        return 'ok';
      },
      { name: 'window', volumeThreshold: 3, resetTimeoutMs: 100 },
    );
    for (let i = 0; i < 3; i++) await b.fire().catch(() => undefined);
    expect(b.state).toBe('open');
    await vi.advanceTimersByTimeAsync(100);
    healthy = true;
    await expect(b.fire()).resolves.toBe('ok');
    expect(b.state).toBe('closed');
    healthy = false;
    await b.fire().catch(() => undefined);
    expect(b.state).toBe('closed');
    expect(b.stats().window).toMatchObject({ fires: 1, failures: 1 });
  });

  it('gives every call its own signal: one call timing out does not abort another (opossum issue 780)', async () => {
    const signals: AbortSignal[] = [];
    const slow = deferred<string>();
    const fast = deferred<string>();
    const b = breakerFor(
      (signal, which: 'slow' | 'fast') => {
        signals.push(signal);
        return which === 'slow' ? slow.promise : fast.promise;
      },
      { name: 'per-call', timeoutMs: 100 },
    );
    const timeouts = vi.fn();
    b.onTimeout(timeouts);
    const first = b.fire('slow').catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(60);
    const second = b.fire('fast');
    await vi.advanceTimersByTimeAsync(40); // the first call's 100 ms are up
    expect(await first).toBeInstanceOf(TimeoutError);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[1]?.aborted).toBe(false);
    fast.resolve('done');
    await expect(second).resolves.toBe('done');
    expect(timeouts).toHaveBeenCalledTimes(1);
    expect(b.stats()).toMatchObject({ timeouts: 1, failures: 1, successes: 1 });
  });

  it('answers with the fallback on failures and while open', async () => {
    const b = breakerFor(async (_signal, id: string): Promise<string> => fail().then(() => id), {
      name: 'fallback',
      volumeThreshold: 2,
      fallback: (err, id) => `cached:${id}:${isCircuitOpenError(err) ? 'open' : 'failed'}`,
    });
    const fallbacks = vi.fn();
    b.onFallback(fallbacks);
    await expect(b.fire('a')).resolves.toBe('cached:a:failed');
    await expect(b.fire('b')).resolves.toBe('cached:b:failed');
    expect(b.state).toBe('open');
    await expect(b.fire('c')).resolves.toBe('cached:c:open');
    expect(fallbacks).toHaveBeenCalledTimes(3);
    expect(b.stats().fallbacks).toBe(3);
  });

  it("aborts fn's signal when the caller aborts, and the abort does not count as a failure", async () => {
    let seen: AbortSignal | undefined;
    const b = breakerFor(
      (signal) => {
        seen = signal;
        return new Promise<never>(() => undefined);
      },
      { name: 'abort', volumeThreshold: 1 },
    );
    const caller = new AbortController();
    const pending = b.fireWith({ signal: caller.signal }).catch((e: unknown) => e);
    caller.abort();
    expect(isAbortedError(await pending)).toBe(true);
    expect(seen?.aborted).toBe(true);
    expect(b.state).toBe('closed');
    expect(b.stats()).toMatchObject({ failures: 0, aborted: 1 });
  });

  it('rethrows whatever fn rejects with, even undefined, and counts it', async () => {
    const b = breakerFor(() => Promise.reject(undefined), { name: 'undefined-reason', volumeThreshold: 100 });
    await expect(b.fire()).rejects.toBeUndefined();
    expect(b.stats().failures).toBe(1);
  });

  it('listeners stop being called once disposed', async () => {
    const b = breakerFor(async () => 'ok', { name: 'listeners' });
    const success = vi.fn();
    const dispose = b.onSuccess(success);
    await b.fire();
    dispose();
    dispose();
    await b.fire();
    expect(success).toHaveBeenCalledTimes(1);
  });

  it('reports latency percentiles over the recent calls', async () => {
    const b = breakerFor(
      async (_signal, ms: number) => {
        await new Promise((r) => setTimeout(r, ms));
        return ms;
      },
      { name: 'latency', timeoutMs: 10_000 },
    );
    for (let ms = 1; ms <= 100; ms++) {
      const p = b.fire(ms);
      await vi.advanceTimersByTimeAsync(ms);
      await p;
    }
    const { latencyMs } = b.stats();
    expect(latencyMs.samples).toBe(100);
    expect(latencyMs.p50).toBeCloseTo(50, 0);
    expect(latencyMs.p99).toBeCloseTo(99, 0);
    expect(latencyMs.max).toBeCloseTo(100, 0);
  });
});

describe('createCircuitBreaker — deadline, registry, configuration', () => {
  it('bounds its timeout by the ambient deadline and counts the expiry as a timeout', async () => {
    vi.useRealTimers();
    const b = breakerFor((signal) => new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), {
      name: 'deadline',
      timeoutMs: 10_000,
    });
    const started = performance.now();
    // 300 ms, not less: on a loaded machine the call must still start inside the budget.
    const err = await withDeadline(300, () => b.fire()).catch((e: unknown) => e);
    expect(isDeadlineExceededError(err)).toBe(true);
    expect(performance.now() - started).toBeLessThan(5_000);
    await new Promise((r) => setTimeout(r, 5));
    expect(b.stats()).toMatchObject({ calls: 1, timeouts: 1, failures: 1 });
  });

  it('lists live breakers in the registry, shares one clock, and forgets disposed ones', async () => {
    const a = createCircuitBreaker(async () => 1, { name: 'reg-a' });
    const b = createCircuitBreaker(async () => 2, { name: 'reg-b' });
    expect(listCircuitBreakers().map((x) => x.name)).toEqual(expect.arrayContaining(['reg-a', 'reg-b']));
    expect(activeSharedClocks()).toBe(1);
    a.dispose();
    expect(listCircuitBreakers().map((x) => x.name)).not.toContain('reg-a');
    await expect(a.fire()).rejects.toBeInstanceOf(ConfigurationError);
    b.dispose();
    expect(activeSharedClocks()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([
    [{ name: '' }],
    [{ name: 'x', timeoutMs: 0 }],
    [{ name: 'x', halfOpenTrials: 0 }],
    [{ name: 'x', errorThresholdPercentage: 150 }],
    [{ name: 'x', volumeThreshold: -1 }],
    [{ name: 'x', resetTimeoutMs: Infinity }],
  ])('rejects invalid options %o with ConfigurationError', (options) => {
    expect(() => createCircuitBreaker(async () => 1, options)).toThrow(ConfigurationError);
  });

  it('takes no shared clock for options it rejects (an invalid volumeThreshold used to leak one)', () => {
    const before = activeSharedClocks();
    for (const volumeThreshold of [-1, 1.5, Number.NaN]) {
      expect(() => createCircuitBreaker(async () => 1, { name: 'leak', volumeThreshold, rollingWindowMs: 7_777 })).toThrow(ConfigurationError);
    }
    expect(activeSharedClocks()).toBe(before);
    expect(listCircuitBreakers().map((x) => x.name)).not.toContain('leak');
  });
});
