import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeConsistencyToken } from '../../src/cache/consistency-token.js';
import { consistencySql, readConsistencyVersion, writeConsistencyToken } from '../../src/postgres.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres-schema.js';
import { requireService } from '../helpers/services.js';

const available = await requireService('postgres');

interface Reading {
  version: bigint;
  seen: boolean;
}

describe.skipIf(!available)('consistency versions in SQL (real Postgres)', () => {
  let db: TestSchema;
  let marks: string;

  const read = async (id: string): Promise<Reading> => {
    // The version and the data come from one statement, hence one snapshot.
    const { rows } = await db.pool.query<{ version: string; seen: boolean }>(
      `SELECT ${db.name}.read_version() AS version, EXISTS (SELECT 1 FROM ${marks} WHERE id = $1) AS seen`,
      [id],
    );
    const row = rows[0] as { version: string; seen: boolean };
    return { version: BigInt(row.version), seen: row.seen };
  };

  beforeAll(async () => {
    db = await createTestSchema();
    marks = `${db.name}.marks`;
    await db.pool.query(consistencySql({ schema: db.name }));
    await db.pool.query(consistencySql({ schema: db.name }));
    await db.pool.query(`CREATE TABLE ${marks} (id uuid PRIMARY KEY)`);
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('versions are microseconds since the epoch and strictly increase across writes', async () => {
    const before = BigInt(Date.now() - 60_000) * 1000n;
    const versions: bigint[] = [];
    for (let i = 0; i < 20; i += 1) {
      const { rows } = await db.pool.query<{ v: string }>(`SELECT ${db.name}.write_version() AS v`);
      versions.push(BigInt((rows[0] as { v: string }).v));
    }
    expect(versions[0]).toBeGreaterThan(before);
    for (let i = 1; i < versions.length; i += 1) expect(versions[i]).toBeGreaterThan(versions[i - 1] as bigint);
    const after = await read(randomUUID());
    expect(after.version).toBeGreaterThanOrEqual(versions.at(-1) as bigint);
  });

  it('no snapshot whose version reaches a write token misses that write, under concurrent readers', async () => {
    for (let round = 0; round < 15; round += 1) {
      const id = randomUUID();
      const writer = await db.pool.connect();
      const readings: Reading[] = [];
      let committed = false;
      const readers = (async () => {
        while (!committed) readings.push(await read(id));
      })();
      let token: bigint;
      try {
        await writer.query('BEGIN');
        // Either order inside the transaction is fine; alternate to cover both.
        if (round % 2 === 0) await writer.query(`INSERT INTO ${marks} VALUES ($1)`, [id]);
        const { rows } = await writer.query<{ v: string }>(`SELECT ${db.name}.write_version() AS v`);
        token = BigInt((rows[0] as { v: string }).v);
        if (round % 2 === 1) await writer.query(`INSERT INTO ${marks} VALUES ($1)`, [id]);
        await new Promise((r) => setTimeout(r, 5 + (round % 4) * 5));
        // At least one read certainly runs while the writer holds the clock row.
        readings.push(await read(id));
        await writer.query('COMMIT');
      } finally {
        writer.release();
      }
      const afterCommit = await read(id);
      committed = true;
      await readers;
      readings.push(afterCommit);
      for (const r of readings) if (r.version >= token) expect(r.seen, `round ${round}: version ${r.version} >= token ${token}`).toBe(true);
      expect(afterCommit.version).toBeGreaterThanOrEqual(token);
      expect(readings.some((r) => !r.seen), 'some reads ran before the commit').toBe(true);
    }
  });

  it('widens a 32-bit xid to the full transaction id', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ full: string; widened: string }>(
        `SELECT pg_current_xact_id()::text AS full, ${db.name}.widen_xid(pg_current_xact_id()::text::bigint::text::xid, pg_current_snapshot())::text AS widened`,
      );
      expect(rows[0]?.widened).toBe(rows[0]?.full);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('writeConsistencyToken returns the cache\'s token format; readConsistencyVersion reaches it after commit', async () => {
    const client = await db.pool.connect();
    let token: string;
    try {
      await client.query('BEGIN');
      token = await writeConsistencyToken(client, { schema: db.name });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(token).toMatch(/^sgv1\.[0-9a-z]+$/);
    const version = BigInt(decodeConsistencyToken(token));
    expect(BigInt(await readConsistencyVersion(db.pool, { schema: db.name }))).toBeGreaterThanOrEqual(version);
  });

  it('reports a missing installation as a DatabaseError', async () => {
    await expect(writeConsistencyToken(db.pool, { schema: 'sg_not_installed' })).rejects.toMatchObject({ code: 'E_DB', dbCode: '3F000' });
    await expect(readConsistencyVersion(db.pool, { schema: 'Bad-Name' })).rejects.toMatchObject({ code: 'E_CONFIG' });
  });

  it('a rolled-back writer does not pin readers to an old version', async () => {
    const writer = await db.pool.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(`SELECT ${db.name}.write_version()`);
      await writer.query('ROLLBACK');
    } finally {
      writer.release();
    }
    await new Promise((r) => setTimeout(r, 20));
    const now = BigInt(Date.now()) * 1000n;
    const { version } = await read(randomUUID());
    // Database and test run on the same host: the read version follows the clock.
    expect(version).toBeGreaterThan(now - 2_000_000n);
  });
});
