import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it, vi } from 'vitest';
import { CircuitOpenError } from '../../src/errors.js';
import { BreakerEvents } from '../../src/resilience/breaker-events.js';

describe('BreakerEvents', () => {
  it('keeps one list per event: emitting one calls only its own listeners', () => {
    const events = new BreakerEvents();
    const opened = vi.fn();
    const closed = vi.fn();
    const failed = vi.fn();
    events.open.add(opened);
    events.close.add(closed);
    events.failure.add(failed);
    const error = new Error('down');
    events.failure.emit(error, 12);
    expect(failed).toHaveBeenCalledWith(error, 12);
    expect(opened).not.toHaveBeenCalled();
    expect(closed).not.toHaveBeenCalled();
  });

  it('clear removes the listeners of all eight events', () => {
    const events = new BreakerEvents();
    const listener = vi.fn();
    const lists = [events.open, events.halfOpen, events.close, events.timeout, events.reject, events.failure, events.success, events.fallback];
    for (const list of lists) list.add(listener);
    expect(lists.map((l) => l.size)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    events.clear();
    expect(lists.map((l) => l.size)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    events.open.emit();
    events.reject.emit(new CircuitOpenError('b', 0));
    events.success.emit(1);
    expect(listener).not.toHaveBeenCalled();
  });

  it('two breakers never share a list', () => {
    const a = new BreakerEvents();
    const b = new BreakerEvents();
    const listener = vi.fn();
    a.success.add(listener);
    b.success.emit(5);
    expect(listener).not.toHaveBeenCalled();
    a.success.emit(5);
    expect(listener).toHaveBeenCalledWith(5);
  });

  it('transitioned tells the listeners of the entered state and publishes the change', () => {
    const events = new BreakerEvents();
    const told: string[] = [];
    events.open.add(() => told.push('open'));
    events.halfOpen.add(() => told.push('half-open'));
    events.close.add(() => told.push('closed'));
    const published: unknown[] = [];
    const onState = (m: unknown): void => void published.push(m);
    subscribe('supaguard:breaker:state', onState);
    try {
      events.transitioned('db', 'closed', 'open');
      events.transitioned('db', 'open', 'half-open');
      events.transitioned('db', 'half-open', 'closed');
    } finally {
      unsubscribe('supaguard:breaker:state', onState);
    }
    expect(told).toEqual(['open', 'half-open', 'closed']);
    expect(published).toEqual([
      { name: 'db', from: 'closed', to: 'open' },
      { name: 'db', from: 'open', to: 'half-open' },
      { name: 'db', from: 'half-open', to: 'closed' },
    ]);
  });

  it('transitioned into the same state tells the listeners again but publishes nothing', () => {
    const events = new BreakerEvents();
    const halfOpened = vi.fn();
    events.halfOpen.add(halfOpened);
    const published: unknown[] = [];
    const onState = (m: unknown): void => void published.push(m);
    subscribe('supaguard:breaker:state', onState);
    try {
      events.transitioned('db', 'half-open', 'half-open');
    } finally {
      unsubscribe('supaguard:breaker:state', onState);
    }
    expect(halfOpened).toHaveBeenCalledTimes(1);
    expect(published).toEqual([]);
  });
});
