import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, DatabaseError, createAuditLog } from '../../src/index.js';
import { auditLogTableSql, postgresAuditSink } from '../../src/postgres.js';
import { DATABASE_URL, requireService } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const available = await requireService('postgres');
const schema = `sg_audit_${randomBytes(6).toString('hex')}`;

const waitUntil = async (check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> => {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.skipIf(!available)('postgresAuditSink (real Postgres)', () => {
  let admin: pg.Pool;
  let proxy: TcpProxy;
  let viaProxy: pg.Pool;
  const poolErrors: unknown[] = [];

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(DATABASE_URL);
    proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    url.port = String(proxy.port);
    viaProxy = new pg.Pool({ connectionString: url.toString(), max: 2, connectionTimeoutMillis: 1_000, application_name: schema });
    // pg emits errors of idle connections on the pool; an app must handle them.
    viaProxy.on('error', (err) => poolErrors.push(err));
  });

  afterAll(async () => {
    await viaProxy?.end();
    await proxy?.stop();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  const table = async (name: string): Promise<string> => {
    await admin.query(auditLogTableSql(`${schema}.${name}`));
    return `${schema}.${name}`;
  };
  const distinctRows = async (t: string): Promise<number> =>
    Number((await admin.query<{ n: string }>(`SELECT count(DISTINCT resource_id) AS n FROM ${t}`)).rows[0]?.n);

  it('writes each batch with one INSERT and keeps every field', async () => {
    const t = await table('fields');
    let statements = 0;
    const counting = { query: (text: string, values?: unknown[]) => (statements++, admin.query(text, values)) };
    const audit = createAuditLog({ sink: postgresAuditSink({ pool: counting, table: t }), batchSize: 50, flushMs: 20 });
    const meta = { note: `quote ' backslash \\ "json" ✓`, n: 1 };
    audit.log({ at: Date.UTC(2026, 0, 2), userId: 'u-1', action: 'project.read', resourceId: 'r-0', outcome: 'allow', requestId: 'req-1', meta });
    for (let i = 1; i < 100; i++) audit.log({ action: 'project.read', resourceId: `r-${i}` });
    await audit.close();
    expect(statements).toBe(2);
    const { rows } = await admin.query(`SELECT * FROM ${t} ORDER BY id`);
    expect(rows).toHaveLength(100);
    expect(rows[0]).toMatchObject({ user_id: 'u-1', action: 'project.read', resource_id: 'r-0', outcome: 'allow', request_id: 'req-1', meta });
    expect((rows[0].at as Date).toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(rows[1]).toMatchObject({ user_id: null, outcome: null, meta: null });
  });

  it('the database going away mid-stream loses nothing while the buffer has room', async () => {
    const t = await table('outage');
    const audit = createAuditLog({
      sink: postgresAuditSink({ pool: viaProxy, table: t }),
      batchSize: 20,
      flushMs: 20,
      maxBuffer: 1_000,
      retryDelayMs: 20,
      maxRetryDelayMs: 100,
      maxAttempts: 1_000,
      writeTimeoutMs: 2_000,
    });
    let next = 0;
    const logSome = (n: number): void => {
      for (let i = 0; i < n; i++) audit.log({ action: 'stream', resourceId: String(next++) });
    };
    logSome(100);
    await waitUntil(async () => (await distinctRows(t)) === 100);
    await proxy.stop(); // connections cut, new ones refused
    for (let i = 0; i < 10; i++) {
      logSome(40);
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitUntil(() => audit.stats().failedWrites >= 2);
    expect(audit.stats().buffered).toBe(400);
    await proxy.start();
    logSome(100);
    await audit.close();
    // At-least-once: a write cut mid-flight may land twice, never zero times.
    expect(await distinctRows(t)).toBe(600);
    expect(audit.stats()).toMatchObject({ dropped: 0, buffered: 0 });
  });

  it('past maxBuffer the overflow is dropped and counted, the rest written after recovery', async () => {
    const t = await table('overflow');
    const audit = createAuditLog({
      sink: postgresAuditSink({ pool: viaProxy, table: t }),
      batchSize: 10,
      flushMs: 10,
      maxBuffer: 100,
      retryDelayMs: 20,
      maxRetryDelayMs: 100,
      maxAttempts: 1_000,
    });
    await proxy.stop();
    for (let i = 0; i < 300; i++) audit.log({ action: 'overflow', resourceId: String(i) });
    expect(audit.stats()).toMatchObject({ buffered: 100, dropped: 200 });
    await waitUntil(() => audit.stats().failedWrites >= 1);
    await proxy.start();
    await audit.close();
    expect(await distinctRows(t)).toBe(100);
    expect(audit.stats()).toMatchObject({ dropped: 200, buffered: 0 });
  });

  it('survives its connections being terminated (pg_terminate_backend) mid-stream', async () => {
    const t = await table('terminate');
    const audit = createAuditLog({ sink: postgresAuditSink({ pool: viaProxy, table: t }), batchSize: 25, flushMs: 10, retryDelayMs: 10, maxAttempts: 100 });
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 25; i++) audit.log({ action: 'terminate', resourceId: `${round}-${i}` });
      if (round % 2 === 1) await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [schema]);
      await new Promise((r) => setTimeout(r, 15));
    }
    await audit.close();
    expect(await distinctRows(t)).toBe(200);
    expect(audit.stats().dropped).toBe(0);
  });

  it('a failing INSERT surfaces as DatabaseError with the SQLSTATE, and a bad table name as ConfigurationError', async () => {
    const sink = postgresAuditSink({ pool: admin, table: `${schema}.does_not_exist` });
    const err = await sink.write([{ at: Date.now(), action: 'x' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect((err as DatabaseError).dbCode).toBe('42P01');
    expect(() => postgresAuditSink({ pool: admin, table: 'x; DROP TABLE y' })).toThrow(ConfigurationError);
    expect(() => auditLogTableSql('a.b.c')).toThrow(ConfigurationError);
  });
});
