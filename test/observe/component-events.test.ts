import { describe, expect, it } from 'vitest';
import { runQuery, type QueryBuilderLike } from '../../src/client/run-query.js';
import { channels, subscribe, subscribeTracing, tracing, type BreakerStateEvent } from '../../src/observe/channels.js';
import { createCircuitBreaker } from '../../src/resilience/circuit-breaker.js';

// The components publish on the channels; these tests prove each publish site fires.

function fakeBuilder<T>(data: T, error: { message: string; code?: string } | null = null): QueryBuilderLike<T> {
  const response = { data, error, status: error ? 400 : 200 };
  return {
    abortSignal() {
      return this;
    },
    then(onFulfilled, onRejected) {
      return Promise.resolve(response).then(onFulfilled, onRejected);
    },
  };
}

describe('circuit breaker → supaguard:breaker:state', () => {
  it('publishes every transition once, with from and to', async () => {
    const events: BreakerStateEvent[] = [];
    const dispose = subscribe(channels.breakerState, (e) => events.push(e));
    let healthy = false;
    const breaker = createCircuitBreaker(
      async () => {
        if (!healthy) throw new Error('down');
        return 'ok';
      },
      { name: 'events-test', volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeoutMs: 50 },
    );
    try {
      await expect(breaker.fire()).rejects.toThrow('down');
      expect(breaker.state).toBe('open');
      await expect(breaker.fire()).rejects.toMatchObject({ code: 'E_CIRCUIT_OPEN' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      healthy = true;
      await expect(breaker.fire()).resolves.toBe('ok');
      expect(breaker.state).toBe('closed');
    } finally {
      dispose();
      breaker.dispose();
    }
    expect(events).toEqual([
      { name: 'events-test', from: 'closed', to: 'open' },
      { name: 'events-test', from: 'open', to: 'half-open' },
      { name: 'events-test', from: 'half-open', to: 'closed' },
    ]);
  });
});

describe('runQuery → tracing:supaguard:query', () => {
  it('traces each query with its operation and marks failures', async () => {
    const seen: string[] = [];
    const dispose = subscribeTracing(tracing.query, {
      start: (ctx) => seen.push(`start ${ctx.operation}`),
      asyncEnd: (ctx) => seen.push(`end ${ctx.operation} ${Object.hasOwn(ctx, 'error') ? 'error' : 'ok'}`),
    });
    try {
      await expect(runQuery(fakeBuilder([{ id: 1 }]), { operation: 'projects.byId' })).resolves.toEqual([{ id: 1 }]);
      await expect(runQuery(fakeBuilder(null, { message: 'denied', code: '42501' }), { operation: 'projects.update' })).rejects.toMatchObject({
        code: 'E_DB',
      });
    } finally {
      dispose();
    }
    expect(seen).toEqual(['start projects.byId', 'end projects.byId ok', 'start projects.update', 'end projects.update error']);
  });
});
