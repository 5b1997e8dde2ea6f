/**
 * Client factory: what a request pays to get a database client.
 *
 * - `getSupabaseClient` hot path: the registry lookup every request makes.
 * - `getUserClient`: a per-user PostgREST client (RLS applies) built from the registry client.
 * - `createClient` per call: the incident's anti-pattern, a full supabase-js client
 *   (auth client, realtime client, storage, PostgREST) for every request. On Node 20
 *   it throws without a WebSocket, so it gets a realtime transport stub here.
 *
 * Nothing here touches the network: clients are created and one query builder is
 * built per call, exactly what happens before a request is sent.
 *
 * Run: npx tsx bench/client-factory.bench.ts   (or npm run bench, which also measures heap)
 */
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { getSupabaseClient, getUserClient, resetSupabaseClients } from '../src/supabase.js';
import { defineScenario, runIfMain } from './lib/harness.js';

const URL_ = 'https://benchmark.supabase.co';
const KEY = 'sb_publishable_benchmark_key_0123456789';
const config = { url: URL_, key: KEY };
const TOKEN = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMTExMTExMS0xMTExLTQxMTEtODExMS0xMTExMTExMTExMTEifQ.c2lnbmF0dXJl';

/** Never connects: realtime is only constructed, and supabase-js needs a constructor on Node 20. */
class RealtimeTransportStub {
  constructor() {
    throw new Error('the benchmark never connects to realtime');
  }
}

const gc = (globalThis as { gc?: () => void }).gc;

async function heapGrowthKiB(calls: number, fn: (i: number) => unknown): Promise<number | string> {
  if (!gc) return 'n/a (needs --expose-gc)';
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
  };
  for (let i = 0; i < 2_000; i++) fn(i);
  await settle();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < calls; i++) fn(i);
  await settle();
  return Math.round((process.memoryUsage().heapUsed - before) / 1024);
}

async function retainedHeapMiB(count: number, make: () => unknown): Promise<number | string> {
  if (!gc) return 'n/a (needs --expose-gc)';
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept: unknown[] = [];
  for (let i = 0; i < count; i++) kept.push(make());
  gc();
  const used = process.memoryUsage().heapUsed - before;
  kept.length = 0;
  return Math.round((used / 2 ** 20) * 10) / 10;
}

const scenario = defineScenario('client-factory', async (ctx) => {
  resetSupabaseClients();
  getSupabaseClient(config);
  let sink: unknown;
  const created: SupabaseClient[] = [];

  ctx.add(
    'getSupabaseClient (hot path)',
    () => {
      sink = getSupabaseClient(config);
    },
    { batch: 1_000 },
  );
  ctx.add(
    'getSupabaseClient (new equal config object)',
    () => {
      sink = getSupabaseClient({ url: URL_, key: KEY });
    },
    { batch: 100 },
  );
  ctx.add(
    'getUserClient',
    () => {
      sink = getUserClient(config, TOKEN);
    },
    { batch: 100 },
  );
  ctx.add(
    'getUserClient + from().select()',
    () => {
      sink = getUserClient(config, TOKEN).from('projects').select('*');
    },
    { batch: 100 },
  );
  ctx.add(
    'createClient per call + from().select() (anti-pattern)',
    () => {
      const client = createClient(URL_, KEY, { realtime: { transport: RealtimeTransportStub as never } });
      sink = client.from('projects').select('*');
      // Default options start a 30 s auto-refresh ticker per client; stopped after
      // the run so the benchmark does not accumulate thousands of timers' work.
      created.push(client);
    },
    { batch: 10 },
  );
  ctx.compare('getUserClient + from().select()', 'createClient per call + from().select() (anti-pattern)', '≥ 10× faster');
  ctx.compare('getSupabaseClient (hot path)', 'createClient per call + from().select() (anti-pattern)');

  ctx.note('getUserClient: heap growth after 10,000 calls and GC (KiB)', await heapGrowthKiB(10_000, (i) => getUserClient(config, `${TOKEN}${i}`).from('projects').select('*')));
  ctx.note(
    'createClient: heap held by 1,000 retained clients (MiB)',
    await retainedHeapMiB(1_000, () => createClient(URL_, KEY, { auth: { autoRefreshToken: false }, realtime: { transport: RealtimeTransportStub as never } })),
  );
  ctx.cleanup(async () => {
    await Promise.allSettled(created.map((c) => c.auth.stopAutoRefresh()));
    created.length = 0;
    resetSupabaseClients();
    if (sink === undefined) throw new Error('no task ran');
  });
});

export default scenario;
await runIfMain(scenario, import.meta.url);
