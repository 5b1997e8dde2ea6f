import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isConfigurationError, isDatabaseError, isTimeoutError, type SupaguardError } from '../../src/errors.js';
import {
  installInvalidationTriggers,
  postgresInvalidationListener,
  uninstallInvalidationTriggers,
  type InvalidationMessage,
  type PostgresInvalidationListener,
} from '../../src/postgres.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres-schema.js';
import { eventually, RecordingCache } from '../helpers/recording-cache.js';
import { DATABASE_URL, freePort, requireService } from '../helpers/services.js';

const available = await requireService('postgres');

describe.skipIf(!available)('database-driven invalidation (real Postgres)', () => {
  let db: TestSchema;
  let table: string;
  const listeners: PostgresInvalidationListener[] = [];

  const start = async (cache: RecordingCache): Promise<{ listener: PostgresInvalidationListener; messages: InvalidationMessage[]; errors: SupaguardError[] }> => {
    const listener = postgresInvalidationListener({ connectionString: DATABASE_URL, channel: db.channel, cache, reconnectDelayMs: 20 });
    listeners.push(listener);
    const messages: InvalidationMessage[] = [];
    const errors: SupaguardError[] = [];
    listener.on('message', (m) => messages.push(m));
    listener.on('error', (e) => errors.push(e));
    await listener.ready();
    return { listener, messages, errors };
  };

  beforeAll(async () => {
    db = await createTestSchema();
    table = `${db.name}.team_members`;
    await db.pool.query(`CREATE TABLE ${table} (user_id uuid NOT NULL, team_id uuid NOT NULL, role text NOT NULL DEFAULT 'member')`);
    const mapping = { schema: db.name, table, userColumn: 'user_id', tagColumn: 'team_id', tagPrefix: 'team:', channel: db.channel };
    await installInvalidationTriggers(db.pool, mapping);
    // Installing twice is harmless (a deploy step runs it on every release).
    await installInvalidationTriggers(db.pool, [mapping]);
  });

  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('installs four statement-level triggers and the functions in a fresh schema, idempotently', async () => {
    const triggers = await db.pool.query(
      `SELECT tgname, (tgtype & 1) = 0 AS per_statement FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY tgname`,
      [table],
    );
    expect(triggers.rows).toEqual(
      ['supaguard_invalidate_delete', 'supaguard_invalidate_insert', 'supaguard_invalidate_truncate', 'supaguard_invalidate_update'].map((tgname) => ({
        tgname,
        per_statement: true,
      })),
    );
    const functions = await db.pool.query(`SELECT proname FROM pg_proc WHERE pronamespace = $1::regnamespace ORDER BY proname`, [db.name]);
    expect(functions.rows.map((r: { proname: string }) => r.proname)).toEqual(['install_invalidation_triggers', 'notify_invalidation', 'uninstall_invalidation_triggers']);
  });

  it('a committed multi-row write invalidates once per statement; uncommitted and rolled-back writes do not', async () => {
    const cache = new RecordingCache();
    const { messages } = await start(cache);
    const team = randomUUID();
    const [a, b, c, bystander] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    cache.set(a, 'doc-1', [`team:${team}`]);
    cache.set(bystander, 'doc-2');

    const writer = await db.pool.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(`INSERT INTO ${table} (user_id, team_id) VALUES ($1, $3), ($2, $3)`, [a, b, team]);
      await new Promise((r) => setTimeout(r, 100));
      expect(cache.has(a, 'doc-1'), 'nothing happens before COMMIT').toBe(true);
      await writer.query('COMMIT');

      await writer.query('BEGIN');
      await writer.query(`INSERT INTO ${table} (user_id, team_id) VALUES ($1, $2)`, [c, team]);
      await writer.query('ROLLBACK');
    } finally {
      writer.release();
    }
    // A later committed write is delivered after anything committed before it.
    const marker = randomUUID();
    await db.pool.query(`INSERT INTO ${table} (user_id, team_id) VALUES ($1, $1)`, [marker]);
    await eventually(() => messages.length >= 2, 5_000, 'two notifications');

    expect(messages[0]).toEqual({
      kind: 'scopes',
      scopes: expect.arrayContaining([{ userId: a }, { userId: b }, { tag: `team:${team}` }]),
      fallback: undefined,
    });
    expect(messages[0]?.kind === 'scopes' && messages[0].scopes).toHaveLength(3);
    expect(messages[1]).toMatchObject({ scopes: [{ userId: marker }, { tag: `team:${marker}` }] });
    expect(cache.calls).not.toContainEqual({ userId: c });
    expect(cache.has(a, 'doc-1')).toBe(false);
    expect(cache.has(bystander, 'doc-2')).toBe(true);
  });

  it('update and delete carry the old and new ids; an update of zero rows sends nothing', async () => {
    const cache = new RecordingCache();
    const { messages } = await start(cache);
    const [user, teamA, teamB] = [randomUUID(), randomUUID(), randomUUID()];
    await db.pool.query(`INSERT INTO ${table} (user_id, team_id) VALUES ($1, $2)`, [user, teamA]);
    await db.pool.query(`UPDATE ${table} SET role = 'x' WHERE user_id = $1 AND false`, [user]);
    await db.pool.query(`UPDATE ${table} SET team_id = $2 WHERE user_id = $1`, [user, teamB]);
    await db.pool.query(`DELETE FROM ${table} WHERE user_id = $1`, [user]);
    await eventually(() => messages.length >= 3, 5_000, 'three notifications');
    await new Promise((r) => setTimeout(r, 50));
    expect(messages).toHaveLength(3);
    expect(messages[1]).toEqual({
      kind: 'scopes',
      scopes: expect.arrayContaining([{ userId: user }, { tag: `team:${teamA}` }, { tag: `team:${teamB}` }]),
      fallback: undefined,
    });
    expect(messages[2]).toMatchObject({ scopes: expect.arrayContaining([{ userId: user }, { tag: `team:${teamB}` }]) });
  });

  it('an oversize payload falls back to the tags, and to a clear when even those do not fit', async () => {
    const cache = new RecordingCache();
    const { listener, messages } = await start(cache);
    const team = randomUUID();
    cache.set(randomUUID(), 'doc-1');
    // 300 distinct users (~12 kB of ids) in one team: the team tag alone fits.
    await db.pool.query(`INSERT INTO ${table} (user_id, team_id) SELECT gen_random_uuid(), $1 FROM generate_series(1, 300)`, [team]);
    await eventually(() => messages.length >= 1, 5_000, 'the tag fallback');
    expect(messages[0]).toEqual({ kind: 'scopes', scopes: [{ tag: `team:${team}` }], fallback: 'tags' });
    expect(cache.clears).toBe(1); // only the flush on connect

    // 300 distinct teams: nothing small enough is left, so every entry goes.
    await db.pool.query(`INSERT INTO ${table} (user_id, team_id) SELECT gen_random_uuid(), gen_random_uuid() FROM generate_series(1, 300)`);
    await eventually(() => messages.length >= 2, 5_000, 'the clear fallback');
    expect(messages[1]).toEqual({ kind: 'clear', fallback: 'clear' });
    expect(cache.clears).toBe(2);
    expect(cache.entries.size).toBe(0);
    expect(listener.stats()).toMatchObject({ messages: 2, fallbacks: 2 });
  });

  it('TRUNCATE clears the cache', async () => {
    const cache = new RecordingCache();
    const { messages } = await start(cache);
    cache.set(randomUUID(), 'doc-1');
    const scratch = `${db.name}.scratch`;
    await db.pool.query(`CREATE TABLE ${scratch} (user_id uuid)`);
    await installInvalidationTriggers(db.pool, { schema: db.name, table: scratch, userColumn: 'user_id', channel: db.channel });
    await db.pool.query(`TRUNCATE ${scratch}`);
    await eventually(() => messages.length >= 1, 5_000, 'the truncate message');
    expect(messages[0]).toEqual({ kind: 'clear', fallback: undefined });
    expect(cache.entries.size).toBe(0);
    // Uninstalled triggers send nothing.
    await uninstallInvalidationTriggers(db.pool, scratch, { schema: db.name });
    await db.pool.query(`INSERT INTO ${scratch} VALUES ($1)`, [randomUUID()]);
    await db.pool.query(`INSERT INTO ${table} (user_id, team_id) VALUES ($1, $1)`, [randomUUID()]);
    await eventually(() => messages.length >= 2, 5_000, 'the marker');
    expect(messages[1]).toMatchObject({ kind: 'scopes' });
    expect(messages).toHaveLength(2);
  });

  it('reconnects after pg_terminate_backend, flushes, and keeps invalidating', async () => {
    const cache = new RecordingCache();
    const { listener } = await start(cache);
    const events: string[] = [];
    listener.on('disconnect', (err) => events.push(`disconnect:${err.code}:${err.dbCode ?? ''}`));
    listener.on('connect', ({ reconnect }) => events.push(`connect:${reconnect}`));
    const stale = randomUUID();
    cache.set(stale, 'doc-1');

    const killed = await db.pool.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${db.channel}"`]);
    expect(killed.rows).toEqual([{ ok: true }]);
    await eventually(() => events.includes('connect:true'), 10_000, 'the reconnect');

    expect(events[0]).toBe('disconnect:E_DB:57P01');
    expect(cache.has(stale, 'doc-1'), 'the reconnect flush dropped the entry').toBe(false);
    expect(cache.clears).toBe(2);
    expect(listener.stats()).toMatchObject({ connected: true, connects: 2, disconnects: 1 });

    const user = randomUUID();
    cache.set(user, 'doc-2');
    await db.pool.query(`INSERT INTO ${table} (user_id, team_id) VALUES ($1, $1)`, [user]);
    await eventually(() => !cache.has(user, 'doc-2'), 5_000, 'an invalidation after the reconnect');
  });

  it('answers a payload it cannot read with a flush and a typed error', async () => {
    const cache = new RecordingCache();
    const { errors } = await start(cache);
    cache.set(randomUUID(), 'doc-1');
    await db.pool.query(`SELECT pg_notify($1, 'not json')`, [db.channel]);
    await eventually(() => errors.length >= 1, 5_000, 'the error event');
    expect(errors[0]).toMatchObject({ code: 'E_DB', operation: 'postgres.notification' });
    expect(cache.entries.size).toBe(0);
  });

  it('reports cache failures as error events without stopping', async () => {
    const cache = new RecordingCache();
    cache.invalidate = () => {
      throw new Error('cache down');
    };
    const { listener, errors, messages } = await start(cache);
    await db.pool.query(`INSERT INTO ${table} (user_id, team_id) VALUES ($1, $1)`, [randomUUID()]);
    await eventually(() => messages.length >= 1, 5_000, 'the message');
    expect(errors.map((e) => e.message)).toContain('Database operation "postgres.listener.invalidate" failed: cache down');
    expect(listener.connected).toBe(true);
  });

  it('takes a client factory and asks it for a new client after a disconnect', async () => {
    let made = 0;
    const cache = new RecordingCache();
    const listener = postgresInvalidationListener({
      client: () => {
        made += 1;
        return new pg.Client({ connectionString: DATABASE_URL });
      },
      channel: db.channel,
      cache,
      reconnectDelayMs: 20,
    });
    listeners.push(listener);
    await listener.ready();
    await db.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${db.channel}"`]);
    await eventually(() => listener.stats().connects === 2, 10_000, 'the reconnect');
    expect(made).toBe(2);
  });

  it('treats a connection whose health check hangs as lost: reconnects and flushes', async () => {
    let made = 0;
    const cache = new RecordingCache();
    const listener = postgresInvalidationListener({
      client: () => {
        made += 1;
        const client = new pg.Client({ connectionString: DATABASE_URL });
        if (made === 1) {
          // The first connection goes half-open: its probes never come back.
          const query = client.query.bind(client) as (text: string) => Promise<unknown>;
          (client as unknown as { query: (text: string) => Promise<unknown> }).query = (text) =>
            text === 'SELECT 1' ? new Promise(() => undefined) : query(text);
        }
        return client;
      },
      channel: db.channel,
      cache,
      reconnectDelayMs: 20,
      healthCheckMs: 50,
    });
    listeners.push(listener);
    const disconnects: SupaguardError[] = [];
    listener.on('disconnect', (err) => disconnects.push(err));
    await listener.ready();
    await eventually(() => listener.stats().connects === 2, 10_000, 'the reconnect after the failed health check');
    expect(disconnects[0]?.message).toContain('postgres.listener.healthCheck');
    expect(cache.clears).toBe(2);
    const user = randomUUID();
    cache.set(user, 'doc-1');
    await db.pool.query(`INSERT INTO ${table} (user_id, team_id) VALUES ($1, $1)`, [user]);
    await eventually(() => !cache.has(user, 'doc-1'), 5_000, 'an invalidation on the new connection');
  });

  it('rejects bad mappings before running SQL, and reports unknown tables and columns as DatabaseError', async () => {
    await expect(installInvalidationTriggers(db.pool, { table })).rejects.toSatisfy(isConfigurationError);
    await expect(installInvalidationTriggers(db.pool, { table, userColumn: 'user_id', maxPayloadBytes: 9_000 })).rejects.toMatchObject({
      code: 'E_CONFIG',
      field: 'maxPayloadBytes',
    });
    await expect(installInvalidationTriggers(db.pool, { schema: db.name, table, userColumn: 'nope' })).rejects.toMatchObject({ code: 'E_DB', dbCode: '42703' });
    await expect(installInvalidationTriggers(db.pool, { schema: db.name, table: `${db.name}.missing`, userColumn: 'user_id' })).rejects.toMatchObject({
      code: 'E_DB',
      dbCode: '42P01',
    });
  });

  it('validates its options', () => {
    const cache = new RecordingCache();
    const bad: unknown[] = [
      {},
      { connectionString: DATABASE_URL },
      { connectionString: DATABASE_URL, client: () => new pg.Client(), cache },
      { connectionString: DATABASE_URL, cache, channel: 'x'.repeat(64) },
      { connectionString: DATABASE_URL, cache, reconnectDelayMs: -1 },
      { connectionString: DATABASE_URL, cache, healthCheckMs: Number.NaN },
      { client: new pg.Client(), cache },
    ];
    for (const options of bad) {
      expect(() => postgresInvalidationListener(options as never)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    }
  });

  it('keeps retrying an unreachable server; ready() times out with a typed error and close() stops it', async () => {
    const port = await freePort();
    const listener = postgresInvalidationListener({ connectionString: `postgres://postgres@127.0.0.1:${port}/test`, cache: new RecordingCache(), reconnectDelayMs: 10 });
    const errors: SupaguardError[] = [];
    listener.on('error', (e) => errors.push(e));
    const started = Date.now();
    const outcome = await listener.ready({ timeoutMs: 300 }).catch((e: unknown) => e);
    expect(isTimeoutError(outcome)).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(errors.length).toBeGreaterThan(1);
    expect(errors.every(isDatabaseError)).toBe(true);
    const waiting = listener.ready({ timeoutMs: 60_000 }).catch((e: unknown) => e);
    await listener.close();
    expect(isConfigurationError(await waiting), 'close() releases a pending ready()').toBe(true);
    await expect(listener.ready()).rejects.toSatisfy(isConfigurationError);
  });
});
