import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AbortedError, DeadlineExceededError, TimeoutError } from '../../src/errors.js';
import { createBulkhead } from '../../src/resilience/bulkhead.js';
import { createCircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import { compose } from '../../src/resilience/compose.js';
import { currentScope } from '../../src/resilience/deadline-scope.js';
import { deadlineSignal, remainingMs, withDeadline } from '../../src/resilience/deadline.js';
import { NEVER_ABORTED } from '../../src/resilience/never-aborted.js';
import { createTimeout, withTimeout } from '../../src/resilience/timeout.js';

// Counts the AbortControllers supaguard creates: each is made only to hand out its signal.
const OriginalAbortController = globalThis.AbortController;
let created = 0;
class CountingAbortController extends OriginalAbortController {
  constructor() {
    super();
    created++;
  }
}

const disposers: Array<() => void> = [];
beforeEach(() => {
  created = 0;
  globalThis.AbortController = CountingAbortController;
});
afterEach(() => {
  globalThis.AbortController = OriginalAbortController;
  for (const dispose of disposers.splice(0)) dispose();
  vi.useRealTimers();
});

const resolved = async (): Promise<number> => 1;

describe('lazy signals', () => {
  it('creates no AbortSignal for work that declares no signal parameter, inside a deadline or not', async () => {
    const breaker = createCircuitBreaker(resolved, { name: 'lazy-fire', timeoutMs: 1_000 });
    const policyBreaker = createCircuitBreaker({ name: 'lazy-execute', timeoutMs: Infinity });
    disposers.push(() => breaker.dispose(), () => policyBreaker.dispose());
    const bulkhead = createBulkhead({ concurrency: 10 });
    const composed = compose(bulkhead, policyBreaker, createTimeout({ ms: 1_000 }));
    const everything = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) {
        await withTimeout(resolved, { ms: 1_000 });
        await withDeadline(1_000, resolved);
        await breaker.fire();
        await policyBreaker.execute(resolved);
        await bulkhead.execute(resolved);
        await composed.execute(resolved);
      }
    };
    await everything();
    await withDeadline(5_000, everything);
    expect(created).toBe(0);
  });

  it('hands a function that declares no parameter the shared never-aborting signal, and still times it out', async () => {
    vi.useFakeTimers();
    let seen: unknown;
    const pending = withTimeout(
      function (this: unknown, ...rest: unknown[]) {
        seen = rest[0];
        return new Promise<never>(() => undefined);
      },
      { ms: 100, operation: 'rest' },
    ).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(await pending).toBeInstanceOf(TimeoutError);
    expect(seen).toBe(NEVER_ABORTED);
    expect(NEVER_ABORTED.aborted).toBe(false);
    expect(created).toBe(0);
  });

  it('creates the signal when the function declares it', async () => {
    let seen: AbortSignal | undefined;
    await withTimeout(
      async (signal) => {
        seen = signal;
      },
      { ms: 1_000 },
    );
    expect(seen).toBeInstanceOf(AbortSignal);
    expect(seen).not.toBe(NEVER_ABORTED);
    expect(created).toBe(1);
  });

  it('a deadline signal first read after the deadline passed is already aborted with DeadlineExceededError', async () => {
    let late: AbortSignal | undefined;
    const err = await withDeadline(
      20,
      async () => {
        // Spin without yielding: the deadline's timer cannot fire meanwhile.
        while (remainingMs() > 0) {
          /* busy */
        }
        late = deadlineSignal();
        await new Promise((resolve) => setTimeout(resolve, 1));
      },
      { operation: 'request' },
    ).catch((e: unknown) => e);
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toBeInstanceOf(DeadlineExceededError);
    expect(err).toBeInstanceOf(DeadlineExceededError);
  });

  it('a parent deadline aborts a nested one whose signal nobody read yet; reading it later shows the abort', async () => {
    vi.useFakeTimers();
    let late: AbortSignal | undefined;
    const outer = withDeadline(30, () =>
      withDeadline(10_000, async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        late = deadlineSignal();
      }),
    ).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(30);
    expect(await outer).toBeInstanceOf(DeadlineExceededError);
    await vi.advanceTimersByTimeAsync(70);
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toBeInstanceOf(DeadlineExceededError);
  });

  it("a caller's abort settles a call whose function declares no signal, and its listener is removed", async () => {
    const caller = new OriginalAbortController();
    const pending = withTimeout(() => new Promise<never>(() => undefined), { ms: 60_000, signal: caller.signal }).catch((e: unknown) => e);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    caller.abort(new Error('gone'));
    expect(await pending).toBeInstanceOf(AbortedError);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('leaves no subscriber on the deadline after 10,000 calls of every wrapper', async () => {
    const breaker = createCircuitBreaker(resolved, { name: 'lazy-subscribers', timeoutMs: 1_000 });
    disposers.push(() => breaker.dispose());
    const bulkhead = createBulkhead({ concurrency: 10 });
    const count = await withDeadline(30_000, async () => {
      for (let i = 0; i < 2_500; i++) {
        await withTimeout(resolved, { ms: 1_000 });
        await withDeadline(1_000, resolved);
        await breaker.fire();
        await bulkhead.execute(async (signal) => signal.aborted);
      }
      await withTimeout(() => Promise.reject(new Error('x')), { ms: 1_000 }).catch(() => undefined);
      return currentScope()?.subscriberCount;
    });
    expect(count).toBe(0);
  });
});

describe('compose without signals', () => {
  it('releases an inner bulkhead waiter when an outer breaker times out, though fn declares no signal', async () => {
    vi.useFakeTimers();
    const breaker = createCircuitBreaker({ name: 'outer-timeout', timeoutMs: 50 });
    disposers.push(() => breaker.dispose());
    const bulkhead = createBulkhead({ concurrency: 1, queue: 1 });
    let release!: () => void;
    const busy = bulkhead.execute(() => new Promise<void>((resolve) => (release = resolve)));
    const fn = vi.fn(async () => 'late');
    const pending = compose(breaker, bulkhead).execute(fn).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    expect(bulkhead.stats().queued).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(await pending).toBeInstanceOf(TimeoutError);
    expect(bulkhead.stats()).toMatchObject({ queued: 0, abandoned: 1 });
    release();
    await busy;
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('work left running after its deadline settled', () => {
  it('still times out at the deadline: a withTimeout bounded by it, and a nested deadline ending with it', async () => {
    vi.useFakeTimers();
    let timeout: Promise<unknown> | undefined;
    let nested: Promise<unknown> | undefined;
    await withDeadline(100, async () => {
      timeout = withTimeout(() => new Promise<never>(() => undefined), { ms: 10_000, operation: 'detached' }).catch((e: unknown) => e);
      nested = withDeadline(10_000, () => new Promise<never>(() => undefined)).catch((e: unknown) => e);
      return 'answered';
    });
    await vi.advanceTimersByTimeAsync(99);
    const early = await Promise.race([timeout, nested, Promise.resolve('pending')]);
    expect(early).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(await timeout).toBeInstanceOf(DeadlineExceededError);
    expect(await nested).toBeInstanceOf(DeadlineExceededError);
    expect(vi.getTimerCount()).toBe(0);
  });
});
