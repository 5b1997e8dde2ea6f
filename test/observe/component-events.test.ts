import { describe, expect, it } from 'vitest';
import { createAccessTokenVerifier } from '../../src/auth/access-token-verifier.js';
import { createServiceKeyCache } from '../../src/auth/service-key-cache.js';
import { createAuthorizationCache } from '../../src/cache/authorization-cache.js';
import { createAuditLog } from '../../src/observe/audit-log.js';
import { runQuery, type QueryBuilderLike } from '../../src/client/run-query.js';
import { memoryLayer } from '../../src/layers/memory.js';
import { channels, subscribe, subscribeTracing, tracing, type BreakerStateEvent, type TypedChannel } from '../../src/observe/channels.js';
import { createBulkhead } from '../../src/resilience/bulkhead.js';
import { createCircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import { controllableLoader, LocalBus, req } from '../cache/fixtures.js';
import { signRaw, userClaims } from '../helpers/jwt.js';

/** Records every message of the given channels as `name payload` while `fn` runs. */
async function recording(list: Array<TypedChannel<object>>, fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const disposers = list.map((channel) => subscribe(channel, (e) => seen.push(`${channel.name.replace('supaguard:', '')} ${JSON.stringify(e)}`)));
  try {
    await fn();
  } finally {
    for (const dispose of disposers) dispose();
  }
  return seen;
}

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

describe('authorization cache → cache and loader channels', () => {
  it('publishes misses, hits, the traced loader call, invalidations sent, received and a bus reconnect', async () => {
    const bus = new LocalBus();
    const { loader } = controllableLoader();
    const a = createAuthorizationCache({ layers: [memoryLayer({ max: 100 })], loader, bus });
    const b = createAuthorizationCache({ layers: [memoryLayer({ max: 100 })], loader, bus });
    const loads: string[] = [];
    const disposeTrace = subscribeTracing(tracing.loader, { asyncEnd: (ctx) => loads.push(ctx.operation) });
    const r = req();
    const seen = await recording(
      [channels.cacheHit, channels.cacheMiss, channels.invalidationSent, channels.invalidationReceived, channels.busReconnect],
      async () => {
        await a.check(r);
        await a.check(r);
        await a.invalidate({ userId: r.userId });
        bus.reconnect();
      },
    );
    disposeTrace();
    await a.close();
    await b.close();
    expect(seen).toEqual([
      'cache:miss {"layer":"memory"}',
      'cache:hit {"layer":"memory"}',
      // The in-process bus delivers to the other instance before publish() returns.
      'cache:invalidation-received {"cache":"authz","keys":1}',
      'cache:invalidation-sent {"cache":"authz","keys":1}',
      'bus:reconnect {"cache":"authz"}',
      'bus:reconnect {"cache":"authz"}',
    ]);
    expect(loads).toEqual(['authz']);
  });

  it('publishes a stale serve when the loader fails within grace', async () => {
    const { loader, state } = controllableLoader();
    const cache = createAuthorizationCache({ layers: [memoryLayer({ max: 100 })], loader, ttlMs: 20, graceMs: 60_000, jitter: 0 });
    const r = req();
    await cache.check(r);
    await new Promise((resolve) => setTimeout(resolve, 60));
    state.fail = new Error('db down');
    const seen = await recording([channels.cacheStale], async () => {
      expect(await cache.check(r)).toMatchObject({ allowed: true });
    });
    await cache.close();
    expect(seen).toEqual(['cache:stale {"layer":"memory"}']);
  });
});

describe('bulkhead → supaguard:bulkhead:*', () => {
  it('publishes occupancy and a rejection with its reason', async () => {
    const bulkhead = createBulkhead({ concurrency: 1, queue: 0, name: 'pg' });
    let release: () => void = () => {};
    const seen = await recording([channels.bulkheadQueue, channels.bulkheadRejected], async () => {
      const running = bulkhead.execute(() => new Promise<void>((resolve) => (release = resolve)));
      await expect(bulkhead.execute(async () => 'second')).rejects.toMatchObject({ code: 'E_BULKHEAD_FULL' });
      release();
      await running;
    });
    expect(seen).toEqual([
      'bulkhead:queue {"name":"pg","active":1,"queued":0}',
      'bulkhead:rejected {"name":"pg","reason":"queue-full"}',
      'bulkhead:queue {"name":"pg","active":0,"queued":0}',
    ]);
  });
});

describe('token verifier and service keys → cache hit/miss channels', () => {
  it('publishes a token-cache miss for the first verification and hits after', async () => {
    const issuer = 'https://abcdefghijklmnopqrst.supabase.co/auth/v1';
    const secret = 'super-secret-jwt-token-with-at-least-32-characters-long';
    const verifier = createAccessTokenVerifier({ jwtSecret: secret, issuer });
    const token = await signRaw('{"alg":"HS256","typ":"JWT"}', JSON.stringify(userClaims(issuer)), { alg: 'HS256', secret: new TextEncoder().encode(secret) });
    const seen = await recording([channels.tokenCacheHit, channels.tokenCacheMiss], async () => {
      for (let i = 0; i < 3; i++) await verifier.verify(token);
    });
    verifier.dispose();
    expect(seen).toEqual(['token-cache:miss {}', 'token-cache:hit {}', 'token-cache:hit {}']);
  });

  it('publishes a service-key miss, then hits', async () => {
    const key = 'sb_secret_component_events_key_0123456789';
    const keys = createServiceKeyCache({ secretKeys: key });
    const seen = await recording([channels.serviceKeyHit, channels.serviceKeyMiss], async () => {
      expect((await keys.validate(key)).valid).toBe(true);
      expect((await keys.validate(key)).valid).toBe(true);
    });
    expect(seen).toEqual(['service-key:miss {}', 'service-key:hit {}']);
  });
});

describe('audit log → supaguard:audit-log:*', () => {
  it('publishes the queue depth as entries arrive and as they are written, and drops after close', async () => {
    const written: unknown[] = [];
    const audit = createAuditLog({ sink: { write: async (batch) => void written.push(...batch) }, batchSize: 100, flushMs: 60_000 });
    const seen = await recording([channels.auditQueue, channels.auditDrop], async () => {
      audit.log({ userId: 'u1', action: 'project.read', resourceId: 'p1', outcome: 'allow' });
      audit.log({ userId: 'u1', action: 'project.read', resourceId: 'p2', outcome: 'deny' });
      await audit.close();
      audit.log({ userId: 'u1', action: 'project.read', resourceId: 'p3', outcome: 'allow' });
    });
    expect(written).toHaveLength(2);
    expect(seen).toEqual([
      'audit-log:queue {"depth":1}',
      'audit-log:queue {"depth":2}',
      'audit-log:queue {"depth":0}',
      'audit-log:drop {"count":1,"reason":"shutdown"}',
    ]);
  });
});
