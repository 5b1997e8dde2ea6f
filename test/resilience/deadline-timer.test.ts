import { afterEach, describe, expect, it, vi } from 'vitest';
import { cancelTimer, scheduleTimer, type TimerEntry } from '../../src/resilience/deadline-timer.js';

afterEach(() => {
  vi.useRealTimers();
});

function entry(name: string, fired: string[]): TimerEntry {
  return {
    timerAt: 0,
    timerPrev: undefined,
    timerNext: undefined,
    timerList: undefined,
    expire: () => fired.push(name),
  };
}

describe('shared deadline timer', () => {
  it('fires entries of one duration in order with a single Node timer, and never a cancelled one', async () => {
    vi.useFakeTimers();
    const fired: string[] = [];
    const entries = Array.from({ length: 100 }, (_, i) => entry(`e${i}`, fired));
    for (const [i, e] of entries.entries()) {
      scheduleTimer(e, 100, performance.now());
      if (i % 10 === 9) await vi.advanceTimersByTimeAsync(1);
    }
    expect(vi.getTimerCount()).toBe(1);
    cancelTimer(entries[0]!); // the head: the armed timer stays, the list moves on
    cancelTimer(entries[50]!);
    cancelTimer(entries[50]!); // twice is harmless
    await vi.advanceTimersByTimeAsync(90); // 10 ms passed while scheduling: now t0 + 100
    expect(fired).toEqual(entries.slice(1, 10).map((_, i) => `e${i + 1}`)); // the ones scheduled at t0
    await vi.advanceTimersByTimeAsync(20);
    const expected = entries.map((_, i) => `e${i}`).filter((name) => name !== 'e0' && name !== 'e50');
    expect(fired).toEqual(expected);
    // Nothing left: the list's timer is not re-armed.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps one timer per distinct duration and fires each at its own time', async () => {
    vi.useFakeTimers();
    const fired: string[] = [];
    scheduleTimer(entry('long', fired), 300, performance.now());
    scheduleTimer(entry('short', fired), 100, performance.now());
    scheduleTimer(entry('short2', fired), 100, performance.now());
    expect(vi.getTimerCount()).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(fired).toEqual(['short', 'short2']);
    await vi.advanceTimersByTimeAsync(200);
    expect(fired).toEqual(['short', 'short2', 'long']);
  });

  it('clears the timer of a fractional duration once its list is empty', () => {
    vi.useFakeTimers();
    const e = entry('x', []);
    scheduleTimer(e, 12.345, performance.now());
    expect(vi.getTimerCount()).toBe(1);
    cancelTimer(e);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an entry scheduled from expire() of the same duration is armed again', async () => {
    vi.useFakeTimers();
    const fired: string[] = [];
    const again = entry('again', fired);
    const first: TimerEntry = {
      ...entry('first', fired),
      expire: () => {
        fired.push('first');
        scheduleTimer(again, 50, performance.now());
      },
    };
    scheduleTimer(first, 50, performance.now());
    await vi.advanceTimersByTimeAsync(50);
    expect(fired).toEqual(['first']);
    await vi.advanceTimersByTimeAsync(50);
    expect(fired).toEqual(['first', 'again']);
  });

  it('uses real timers again after fake ones, without mixing their lists', async () => {
    vi.useFakeTimers();
    const fired: string[] = [];
    scheduleTimer(entry('fake', fired), 10, performance.now());
    vi.useRealTimers();
    scheduleTimer(entry('real', fired), 10, performance.now());
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fired).toEqual(['real']);
  });

  it('fires an entry when its timer fires even if performance.now() became another clock meanwhile', async () => {
    const realSetTimeout = globalThis.setTimeout;
    const fired: string[] = [];
    scheduleTimer(entry('real', fired), 10, performance.now());
    vi.useFakeTimers(); // performance.now() is now the fake clock
    await new Promise((resolve) => realSetTimeout(resolve, 40));
    expect(fired).toEqual(['real']);
  });
});
