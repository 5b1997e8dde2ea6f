import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpPool, configureHttpPool, httpPoolOptions, sharedFetch } from '../../src/client/http-pool.js';
import { getSupabaseClient, resetSupabaseClients } from '../../src/client/registry.js';
import { runQuery } from '../../src/client/run-query.js';
import { getUserClient } from '../../src/client/user-client.js';
import { isConfigurationError } from '../../src/errors.js';
import { fakeAccessToken, sendRows, startFakePostgrest, type FakePostgrest } from '../helpers/postgrest-server.js';

let server: FakePostgrest;

beforeAll(async () => {
  server = await startFakePostgrest((req, res) => void setTimeout(() => sendRows(req, res, [{ id: 1 }]), 5));
});
afterAll(() => server.close());
afterEach(async () => {
  resetSupabaseClients();
  configureHttpPool({});
  await closeHttpPool();
});

/** Several distinct clients: two registry clients (two keys) and two user clients. */
function clients() {
  const a = getSupabaseClient({ url: server.url, key: 'sb_secret_pool_a' });
  const b = getSupabaseClient({ url: server.url, key: 'sb_secret_pool_b' });
  const u1 = getUserClient({ url: server.url, key: 'sb_publishable_pool' }, fakeAccessToken('u1'));
  const u2 = getUserClient({ url: server.url, key: 'sb_publishable_pool' }, fakeAccessToken('u2'));
  return [a, b, u1, u2];
}

describe('shared keep-alive pool', () => {
  it('sequential requests through several clients reuse one or two sockets', async () => {
    await closeHttpPool();
    const before = server.connections();
    const all = clients();
    for (let i = 0; i < 40; i++) await runQuery(all[i % all.length]!.from('projects').select('*'));
    // undici frees a socket a tick after the body is read, so a request issued in
    // that tick may open a second one; without the shared pool it would be 40.
    const opened = server.connections() - before;
    expect(opened).toBeGreaterThanOrEqual(1);
    expect(opened).toBeLessThanOrEqual(2);
  });

  it('concurrent requests through several clients stay within the configured connections', async () => {
    configureHttpPool({ connections: 3 });
    expect(httpPoolOptions().connections).toBe(3);
    const before = server.connections();
    const all = clients();
    const rounds = Array.from({ length: 60 }, (_, i) => runQuery(all[i % all.length]!.from('projects').select('*')));
    expect(await Promise.all(rounds)).toHaveLength(60);
    const opened = server.connections() - before;
    expect(opened).toBeGreaterThanOrEqual(1);
    expect(opened).toBeLessThanOrEqual(3);
  });

  it('clients created before configureHttpPool or closeHttpPool follow the current pool', async () => {
    const [a] = clients();
    await runQuery(a!.from('projects').select('*'));
    await closeHttpPool();
    // The old agent is closed; the stable shared fetch opens a new pool on demand.
    await expect(runQuery(a!.from('projects').select('*'))).resolves.toEqual([{ id: 1 }]);
    configureHttpPool({ connections: 2, keepAliveTimeoutMs: 1_000 });
    await expect(runQuery(a!.from('projects').select('*'))).resolves.toEqual([{ id: 1 }]);
    expect(httpPoolOptions()).toEqual({ connections: 2, keepAliveTimeoutMs: 1_000, pipelining: 1 });
  });

  it('hands out one stable fetch function', () => {
    const f = sharedFetch();
    configureHttpPool({ connections: 4 });
    expect(sharedFetch()).toBe(f);
  });

  it.each([
    ['pool.connections', { connections: 0 }],
    ['pool.connections', { connections: 1.5 }],
    ['pool.keepAliveTimeoutMs', { keepAliveTimeoutMs: -1 }],
    ['pool.pipelining', { pipelining: '2' }],
  ])('rejects a bad option with ConfigurationError naming %s', (field, options) => {
    let caught: unknown;
    try {
      configureHttpPool(options as never);
    } catch (err) {
      caught = err;
    }
    expect(isConfigurationError(caught)).toBe(true);
    expect((caught as { field: string }).field).toBe(field);
  });
});
