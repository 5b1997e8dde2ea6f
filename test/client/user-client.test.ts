import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getSupabaseClient, resetSupabaseClients, supabaseClientCount } from '../../src/client/registry.js';
import { runQuery } from '../../src/client/run-query.js';
import { getUserClient } from '../../src/client/user-client.js';
import { isAuthError, isDatabaseError } from '../../src/errors.js';
import { bearerSubject, fakeAccessToken, sendJson, sendRows, startFakePostgrest, type FakePostgrest } from '../helpers/postgrest-server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const ANON_KEY = 'sb_publishable_user_client_key';
const ALICE = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';

const PROJECTS = [
  { id: 1, owner: ALICE, name: 'alpha' },
  { id: 2, owner: BOB, name: 'beta' },
  { id: 3, owner: ALICE, name: 'gamma' },
];

let server: FakePostgrest;
const config = (): { url: string; key: string } => ({ url: server.url, key: ANON_KEY });

beforeAll(async () => {
  // RLS as PostgREST applies it: rows are filtered by the `sub` of the request's JWT.
  server = await startFakePostgrest((req, res) => {
    const sub = bearerSubject(req);
    if (req.url?.startsWith('/rest/v1/rpc/whoami')) return sendJson(res, 200, sub ?? null);
    return sendRows(req, res, PROJECTS.filter((p) => p.owner === sub));
  });
});
afterAll(() => server.close());
beforeEach(() => {
  resetSupabaseClients();
  server.requests.length = 0;
});

describe('getUserClient', () => {
  it('sends Authorization: Bearer <token> and the apikey, so RLS applies per user', async () => {
    const alice = getUserClient(config(), fakeAccessToken(ALICE));
    const bob = getUserClient(config(), fakeAccessToken(BOB));
    const aliceRows = await runQuery(alice.from('projects').select('*'), { operation: 'projects.list' });
    const bobRows = await runQuery(bob.from('projects').select('*'));
    expect(aliceRows.map((p: { id: number }) => p.id)).toEqual([1, 3]);
    expect(bobRows.map((p: { id: number }) => p.id)).toEqual([2]);

    const [first, second] = server.requests;
    expect(first?.headers.authorization).toBe(`Bearer ${fakeAccessToken(ALICE)}`);
    expect(first?.headers.apikey).toBe(ANON_KEY);
    expect(first?.url).toBe('/rest/v1/projects?select=*');
    expect(second?.headers.authorization).toBe(`Bearer ${fakeAccessToken(BOB)}`);
  });

  it('supports rpc and schema like a SupabaseClient', async () => {
    const alice = getUserClient(config(), fakeAccessToken(ALICE));
    expect(await runQuery(alice.rpc('whoami'))).toBe(ALICE);
    await runQuery(alice.schema('api').from('projects').select('id'));
    expect(server.requests.at(-1)?.headers['accept-profile']).toBe('api');
  });

  it('keeps the caller\'s global headers and db schema, and never doubles Authorization', async () => {
    const cfg = {
      ...config(),
      options: { db: { schema: 'app' }, global: { headers: { 'x-tenant': 't1', Authorization: 'Bearer service' } } },
    };
    await runQuery(getUserClient(cfg, fakeAccessToken(BOB)).from('projects').select('id'));
    const sent = server.requests.at(-1);
    expect(sent?.headers['x-tenant']).toBe('t1');
    expect(sent?.headers['accept-profile']).toBe('app');
    expect(sent?.headers.authorization).toBe(`Bearer ${fakeAccessToken(BOB)}`);
  });

  it('creates no client, timer or handle per call', () => {
    const token = fakeAccessToken(ALICE);
    getUserClient(config(), token); // the first call creates the registry client
    const clientsBefore = supabaseClientCount();
    const resourcesBefore = process.getActiveResourcesInfo().sort();
    for (let i = 0; i < 1_000; i++) getUserClient(config(), token).from('projects').select('*');
    expect(supabaseClientCount()).toBe(clientsBefore);
    expect(process.getActiveResourcesInfo().sort()).toEqual(resourcesBefore);
  });

  it('uses the registry client of its config (one per process)', () => {
    getUserClient(config(), fakeAccessToken(ALICE));
    getUserClient({ ...config() }, fakeAccessToken(BOB));
    expect(supabaseClientCount()).toBe(1);
    expect(getSupabaseClient(config())).toBe(getSupabaseClient({ ...config() }));
  });

  it('rejects a missing or header-unsafe token with an AuthError that does not echo it', () => {
    expect(() => getUserClient(config(), '')).toThrow(expect.objectContaining({ code: 'E_TOKEN_MISSING' }) as Error);
    expect(() => getUserClient(config(), undefined as unknown as string)).toThrow(expect.objectContaining({ code: 'E_TOKEN_MISSING' }) as Error);
    const evil = 'abc\r\nx-injected: SECRETPART';
    try {
      getUserClient(config(), evil);
      expect.unreachable();
    } catch (err) {
      expect(isAuthError(err)).toBe(true);
      expect((err as { code: string }).code).toBe('E_TOKEN_MALFORMED');
      expect(`${(err as Error).message}${(err as Error).stack}`).not.toContain('SECRETPART');
    }
  });

  it('does not retry a failed GET (postgrest-js would sleep 1 s, 2 s, 4 s): the failure surfaces at once', async () => {
    server.handle((req) => void req.socket.destroy());
    const started = performance.now();
    const err = await runQuery(getUserClient(config(), fakeAccessToken(ALICE)).from('projects').select('*'), { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(isDatabaseError(err)).toBe(true);
    expect(performance.now() - started).toBeLessThan(900);
    expect(server.requests).toHaveLength(1);
    server.handle((req, res) => sendRows(req, res, PROJECTS.filter((p) => p.owner === bearerSubject(req))));
  });
});

describe('getUserClient memory', () => {
  it('10,000 calls leave less than 1 MB of heap after GC (child process with --expose-gc)', async () => {
    // Runs the built package in a fresh process so nothing from the test runner pollutes the heap.
    const script = `
      import { getUserClient } from './dist/supabase.js';
      const config = { url: 'http://127.0.0.1:9', key: 'sb_publishable_memory' };
      const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';
      const settle = async () => { for (let i = 0; i < 4; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); } };
      // Warm-up with the same shape, so compiled code and inline caches are not counted.
      for (let i = 0; i < 2000; i++) getUserClient(config, token + i).from('projects').select('*').eq('id', i);
      await settle();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 10000; i++) getUserClient(config, token + i).from('projects').select('*').eq('id', i);
      await settle();
      const after = process.memoryUsage().heapUsed;
      console.log(JSON.stringify({ growth: after - before }));
    `;
    const { stdout } = await run(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { cwd: root });
    const { growth } = JSON.parse(stdout.trim()) as { growth: number };
    console.log(`getUserClient: heap growth after 10,000 calls and GC = ${(growth / 1024).toFixed(1)} KiB`);
    expect(growth).toBeLessThan(1024 * 1024);
  });
});
