import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closeSupabaseClients,
  getSupabaseClient,
  resetSupabaseClients,
  supabaseClientCount,
} from '../../src/client/registry.js';
import { isConfigurationError } from '../../src/errors.js';
import { sendRows, startFakePostgrest, type FakePostgrest } from '../helpers/postgrest-server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const KEY = 'sb_secret_registry_TOPSECRET_key';
const url = 'https://abcd.supabase.co';

interface AuthInternals {
  persistSession: boolean;
  autoRefreshToken: boolean;
  detectSessionInUrl: boolean;
}
const authOf = (client: object): AuthInternals => (client as { auth: AuthInternals }).auth;
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

afterEach(() => resetSupabaseClients());

describe('getSupabaseClient registry', () => {
  it('returns the same instance for the same config, even a new but equal object', () => {
    const a = getSupabaseClient({ url, key: KEY });
    expect(getSupabaseClient({ url, key: KEY })).toBe(a);
    expect(getSupabaseClient({ url: `${url}/`, key: KEY, options: {} })).toBe(a);
    expect(supabaseClientCount()).toBe(1);
  });

  it('returns another instance for another key or URL', () => {
    const a = getSupabaseClient({ url, key: KEY });
    const b = getSupabaseClient({ url, key: `${KEY}-2` });
    const c = getSupabaseClient({ url: 'https://efgh.supabase.co', key: KEY });
    expect(b).not.toBe(a);
    expect(c).not.toBe(a);
    expect(c).not.toBe(b);
    expect(supabaseClientCount()).toBe(3);
  });

  it('treats equal options as one config, and compares functions by identity', () => {
    const fetchA = (async () => new Response('[]')) as typeof fetch;
    const fetchB = (async () => new Response('[]')) as typeof fetch;
    const a = getSupabaseClient({ url, key: KEY, options: { db: { schema: 'api' }, global: { fetch: fetchA } } });
    expect(getSupabaseClient({ url, key: KEY, options: { global: { fetch: fetchA }, db: { schema: 'api' } } })).toBe(a);
    expect(getSupabaseClient({ url, key: KEY, options: { db: { schema: 'api' }, global: { fetch: fetchB } } })).not.toBe(a);
    expect(getSupabaseClient({ url, key: KEY, options: { db: { schema: 'app' }, global: { fetch: fetchA } } })).not.toBe(a);
  });

  it('notices when a reused config object gets another key', () => {
    const config = { url, key: KEY };
    const a = getSupabaseClient(config);
    config.key = `${KEY}-rotated`;
    expect(getSupabaseClient(config)).not.toBe(a);
  });

  it('never keeps the key in the registry', () => {
    getSupabaseClient({ url, key: KEY });
    const registry = (globalThis as unknown as Record<symbol, Map<string, unknown>>)[Symbol.for('supaguard.clients')];
    expect(registry?.size).toBe(1);
    for (const registryKey of registry?.keys() ?? []) expect(registryKey).not.toContain('TOPSECRET');
  });

  it('throws ConfigurationError naming the field, without the key, for a bad config', () => {
    const attempts: Array<[string, () => unknown]> = [
      ['url', () => getSupabaseClient({ url: 'ftp://x', key: KEY })],
      ['key', () => getSupabaseClient({ url, key: '' })],
      ['options.auth', () => getSupabaseClient({ url, key: KEY, options: { auth: 'x' as never } })],
    ];
    for (const [field, attempt] of attempts) {
      let caught: unknown;
      try {
        attempt();
      } catch (err) {
        caught = err;
      }
      expect(isConfigurationError(caught), field).toBe(true);
      expect((caught as { field: string }).field).toBe(field);
      const text = `${(caught as Error).message}\n${(caught as Error).stack}\n${JSON.stringify(caught)}`;
      expect(text).not.toContain('TOPSECRET');
    }
    expect(supabaseClientCount()).toBe(0);
  });
});

describe('server-safe defaults', () => {
  it('turns session persistence, auto refresh and URL detection off', () => {
    const auth = authOf(getSupabaseClient({ url, key: KEY }));
    expect(auth.persistSession).toBe(false);
    expect(auth.autoRefreshToken).toBe(false);
    expect(auth.detectSessionInUrl).toBe(false);
  });

  it('lets the caller override a default', () => {
    const auth = authOf(getSupabaseClient({ url, key: KEY, options: { auth: { detectSessionInUrl: true } } }));
    expect(auth.detectSessionInUrl).toBe(true);
    expect(auth.autoRefreshToken).toBe(false);
  });

  it('creates clients on Node 20 without a native WebSocket, and keeps no timer per client', () => {
    // On Node 20 there is no global WebSocket: plain createClient() throws here.
    const before = timers();
    for (let i = 0; i < 20; i++) getSupabaseClient({ url, key: `${KEY}-${i}` });
    expect(supabaseClientCount()).toBe(20);
    expect(timers()).toBe(before);
  });

  it('creates a client in a Node 20 process with no WebSocket and no flags (built ESM and CJS)', async () => {
    const script = `
      const { createClient } = require('@supabase/supabase-js');
      const { getSupabaseClient } = require('./dist/supabase.cjs');
      let plain = 'created';
      try { createClient('${url}', 'k'); } catch (err) { plain = 'threw: ' + err.message.split('\\n')[0]; }
      const client = getSupabaseClient({ url: '${url}', key: 'k' });
      console.log(JSON.stringify({ ws: typeof WebSocket, plain, ok: typeof client.from === 'function' }));
    `;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: root });
    const result = JSON.parse(stdout.trim()) as { ws: string; plain: string; ok: boolean };
    expect(result.ok).toBe(true);
    if (result.ws === 'undefined') expect(result.plain).toMatch(/^threw: .*WebSocket/);
  });
});

describe('one registry per process', () => {
  it('the built ESM and CJS entry points return the same instance in one process', async () => {
    const script = `
      import { createRequire } from 'node:module';
      const esm = await import('./dist/supabase.js');
      const cjs = createRequire(import.meta.url)('./dist/supabase.cjs');
      const config = { url: '${url}', key: 'k' };
      const a = esm.getSupabaseClient(config);
      const b = cjs.getSupabaseClient({ ...config });
      console.log(JSON.stringify({ differentModules: esm.getSupabaseClient !== cjs.getSupabaseClient, same: a === b, count: cjs.supabaseClientCount() }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    expect(JSON.parse(stdout.trim())).toEqual({ differentModules: true, same: true, count: 1 });
  });
});

describe('closeSupabaseClients and resetSupabaseClients', () => {
  let server: FakePostgrest;
  beforeAll(async () => {
    server = await startFakePostgrest((req, res) => sendRows(req, res, [{ id: 1 }]));
  });
  afterAll(() => server.close());

  it('resetSupabaseClients forgets every client, so the next call creates a new one', () => {
    const a = getSupabaseClient({ url, key: KEY });
    resetSupabaseClients();
    expect(supabaseClientCount()).toBe(0);
    expect(getSupabaseClient({ url, key: KEY })).not.toBe(a);
  });

  it('closeSupabaseClients empties the registry, closes the pool, and later clients still work', async () => {
    const a = getSupabaseClient({ url: server.url, key: KEY });
    expect((await a.from('projects').select('id')).data).toEqual([{ id: 1 }]);
    await closeSupabaseClients();
    expect(supabaseClientCount()).toBe(0);
    // Sockets of the closed pool are gone: the server saw them close.
    const b = getSupabaseClient({ url: server.url, key: KEY });
    expect(b).not.toBe(a);
    const connectionsBefore = server.connections();
    expect((await b.from('projects').select('id')).data).toEqual([{ id: 1 }]);
    expect(server.connections()).toBe(connectionsBefore + 1);
    await closeSupabaseClients();
  });

  it('closeSupabaseClients leaves no timer behind (the process can exit at once)', async () => {
    for (let i = 0; i < 3; i++) getSupabaseClient({ url, key: `${KEY}-${i}` });
    const before = timers();
    await closeSupabaseClients();
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('closeSupabaseClients with clients that use the accessToken option does not throw', async () => {
    getSupabaseClient({ url, key: KEY, options: { accessToken: async () => 'token' } });
    await expect(closeSupabaseClients()).resolves.toBeUndefined();
    expect(supabaseClientCount()).toBe(0);
  });
});
