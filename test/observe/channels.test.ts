import dc from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { channels, publish, subscribe, subscribeTracing, traceCall, tracing, type TraceContext } from '../../src/observe/channels.js';

describe('channels', () => {
  it('use stable supaguard:* names from the process-wide registry', () => {
    expect(channels.cacheHit.name).toBe('supaguard:cache:hit');
    expect(channels.breakerState.name).toBe('supaguard:breaker:state');
    // Same object as any other copy of the package gets by name.
    expect(dc.channel('supaguard:cache:hit')).toBe(channels.cacheHit);
    const names = Object.values(channels).map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^supaguard:[a-z-]+:[a-z-]+$/);
  });

  it('publish delivers to subscribers and the disposer stops delivery', () => {
    const seen: unknown[] = [];
    const dispose = subscribe(channels.cacheMiss, (e) => seen.push(e));
    expect(channels.cacheMiss.hasSubscribers).toBe(true);
    publish(channels.cacheMiss, { layer: 'redis' });
    dispose();
    publish(channels.cacheMiss, { layer: 'memory' });
    expect(seen).toEqual([{ layer: 'redis' }]);
    expect(channels.cacheMiss.hasSubscribers).toBe(false);
  });

  it('a raw diagnostics_channel subscriber sees the same events', () => {
    const seen: unknown[] = [];
    const onMessage = (m: unknown): void => void seen.push(m);
    dc.subscribe('supaguard:breaker:state', onMessage);
    publish(channels.breakerState, { name: 'db', from: 'closed', to: 'open' });
    dc.unsubscribe('supaguard:breaker:state', onMessage);
    expect(seen).toEqual([{ name: 'db', from: 'closed', to: 'open' }]);
  });
});

describe('traceCall', () => {
  it('runs fn directly when nobody subscribes', async () => {
    expect(tracing.loader.hasSubscribers).toBe(false);
    await expect(traceCall(tracing.loader, { operation: 'x' }, async () => 42)).resolves.toBe(42);
  });

  it('publishes start and asyncEnd with the result, and error on failure', async () => {
    const events: string[] = [];
    const dispose = subscribeTracing(tracing.jwks, {
      start: (ctx) => events.push(`start:${ctx.operation}`),
      error: (ctx) => events.push(`error:${(ctx.error as Error).message}`),
      asyncEnd: (ctx) => events.push(`asyncEnd:${String(ctx.result ?? 'none')}`),
    });
    await expect(traceCall(tracing.jwks, { operation: 'fetch' }, async () => 'keys')).resolves.toBe('keys');
    await expect(
      traceCall(tracing.jwks, { operation: 'fetch' } as TraceContext, () => {
        throw new Error('sync boom');
      }),
    ).rejects.toThrow('sync boom');
    await expect(traceCall(tracing.jwks, { operation: 'fetch' }, () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    dispose();
    expect(tracing.jwks.hasSubscribers).toBe(false);
    expect(events).toEqual([
      'start:fetch',
      'asyncEnd:keys',
      'start:fetch',
      'error:sync boom',
      'asyncEnd:none',
      'start:fetch',
      'error:down',
      'asyncEnd:none',
    ]);
  });
});
