import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AbortedError, BulkheadRejectedError, ConfigurationError, DeadlineExceededError } from '../../src/errors.js';
import { createBulkhead } from '../../src/resilience/bulkhead.js';
import { withDeadline } from '../../src/resilience/deadline.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createBulkhead (fake timers)', () => {
  it('runs at most `concurrency` calls and starts waiters in FIFO order', async () => {
    const bulkhead = createBulkhead({ concurrency: 2, queue: 10 });
    const started: number[] = [];
    const gates = Array.from({ length: 5 }, gate);
    const calls = gates.map((g, i) =>
      bulkhead.execute(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toEqual([0, 1]);
    expect(bulkhead.stats()).toMatchObject({ running: 2, queued: 3 });
    gates[1]?.open();
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.open();
    await expect(Promise.all(calls)).resolves.toEqual([0, 1, 2, 3, 4]);
    expect(bulkhead.stats()).toMatchObject({ running: 0, queued: 0, admitted: 5 });
  });

  it('rejects with reason queue-full when the queue is full', async () => {
    const bulkhead = createBulkhead({ concurrency: 1, queue: 1 });
    const g = gate();
    const rejects = vi.fn();
    bulkhead.onReject(rejects);
    const running = bulkhead.execute(() => g.promise);
    const waiting = bulkhead.execute(async () => 'second');
    const err = await bulkhead.execute(async () => 'third').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BulkheadRejectedError);
    expect((err as BulkheadRejectedError).reason).toBe('queue-full');
    expect((err as BulkheadRejectedError).code).toBe('E_BULKHEAD_FULL');
    expect(rejects).toHaveBeenCalledTimes(1);
    g.open();
    await running;
    await expect(waiting).resolves.toBe('second');
  });

  it('rejects a waiter with reason queue-timeout after queueTimeoutMs and frees its place', async () => {
    const bulkhead = createBulkhead({ concurrency: 1, queue: 1, queueTimeoutMs: 100 });
    const g = gate();
    const running = bulkhead.execute(() => g.promise);
    const fn = vi.fn(async () => 'never');
    const waiting = bulkhead.execute(fn).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(99);
    expect(bulkhead.stats().queued).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const err = await waiting;
    expect((err as BulkheadRejectedError).reason).toBe('queue-timeout');
    expect(fn).not.toHaveBeenCalled();
    expect(bulkhead.stats()).toMatchObject({ queued: 0, rejected: { 'queue-timeout': 1 } });
    g.open();
    await running;
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an aborted waiter leaves the queue at once and the next live waiter gets the slot (cockatiel issue 112)', async () => {
    const bulkhead = createBulkhead({ concurrency: 1, queue: 3 });
    const g = gate();
    const running = bulkhead.execute(() => g.promise);
    const callers = [new AbortController(), new AbortController()];
    const aborted = callers.map((c) => bulkhead.execute(async () => 'aborted-ran', { signal: c.signal }).catch((e: unknown) => e));
    const live = bulkhead.execute(async () => 'live');
    expect(bulkhead.stats().queued).toBe(3);
    for (const c of callers) c.abort();
    expect(bulkhead.stats().queued).toBe(1); // synchronously, not when a slot frees up
    for (const p of aborted) expect(await p).toBeInstanceOf(AbortedError);
    for (const c of callers) expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
    // Their places are free again.
    const another = bulkhead.execute(async () => 'another');
    g.open();
    await running;
    await expect(live).resolves.toBe('live');
    await expect(another).resolves.toBe('another');
    expect(bulkhead.stats()).toMatchObject({ abandoned: 2, running: 0, queued: 0 });
  });

  it('releases the slot when fn throws', async () => {
    const bulkhead = createBulkhead({ concurrency: 1 });
    await expect(
      bulkhead.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(bulkhead.execute(async () => 'ok')).resolves.toBe('ok');
  });

  it('bounds the wait by the ambient deadline, rejecting with reason deadline', async () => {
    const bulkhead = createBulkhead({ concurrency: 1, queue: 5, queueTimeoutMs: 10_000 });
    const g = gate();
    const running = bulkhead.execute(() => g.promise);
    const waiting = withDeadline(50, () => bulkhead.execute(async () => 'late')).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(50);
    const err = await waiting;
    // withDeadline's own timer and the bulkhead's deadline-bound wait fire together; either error is correct.
    expect(err instanceof BulkheadRejectedError ? err.reason : err).toSatisfy(
      (v: unknown) => v === 'deadline' || v instanceof DeadlineExceededError,
    );
    expect(bulkhead.stats().queued).toBe(0);
    g.open();
    await running;
  });

  it('hands fn a signal that aborts with the caller or the deadline', async () => {
    const bulkhead = createBulkhead({ concurrency: 1 });
    let seen: AbortSignal | undefined;
    const caller = new AbortController();
    const p = withDeadline(1_000, () =>
      bulkhead.execute(
        (signal) => {
          seen = signal;
          return new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        },
        { signal: caller.signal },
      ),
    ).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen?.aborted).toBe(false);
    const reason = new Error('client left');
    caller.abort(reason);
    expect(seen?.aborted).toBe(true);
    expect(await p).toBe(reason);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it.each([{ concurrency: 0 }, { concurrency: 1.5 }, { concurrency: 1, queue: -1 }, { concurrency: 1, queueTimeoutMs: 0 }])(
    'rejects %o with ConfigurationError',
    (options) => {
      expect(() => createBulkhead(options)).toThrow(ConfigurationError);
    },
  );
});

describe('createBulkhead — diagnostics channels', () => {
  it('publishes occupancy and rejections on supaguard:bulkhead:* channels', async () => {
    const queue: unknown[] = [];
    const rejected: unknown[] = [];
    const onQueue = (m: unknown): void => void queue.push(m);
    const onRejected = (m: unknown): void => void rejected.push(m);
    subscribe('supaguard:bulkhead:queue', onQueue);
    subscribe('supaguard:bulkhead:rejected', onRejected);
    try {
      const bulkhead = createBulkhead({ concurrency: 1, queue: 0, name: 'pg' });
      const g = gate();
      const running = bulkhead.execute(() => g.promise);
      await bulkhead.execute(async () => 1).catch(() => undefined);
      g.open();
      await running;
      expect(queue).toEqual([
        { name: 'pg', active: 1, queued: 0 },
        { name: 'pg', active: 0, queued: 0 },
      ]);
      expect(rejected).toEqual([{ name: 'pg', reason: 'queue-full' }]);
    } finally {
      unsubscribe('supaguard:bulkhead:queue', onQueue);
      unsubscribe('supaguard:bulkhead:rejected', onRejected);
    }
  });
});
