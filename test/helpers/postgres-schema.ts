import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DATABASE_URL } from './services.js';

/** A private schema on the shared test database, dropped by `drop()`. */
export interface TestSchema {
  readonly name: string;
  readonly pool: pg.Pool;
  /** A channel name nobody else uses (NOTIFY channels are database-wide). */
  readonly channel: string;
  drop(): Promise<void>;
}

/**
 * Creates a schema with a random name (`sg_<hex>`) and a small pool. The caller
 * must `drop()` it in `afterAll`; the supaguard SQL is installed into it by the tests.
 */
export async function createTestSchema(): Promise<TestSchema> {
  const suffix = randomBytes(6).toString('hex');
  const name = `sg_${suffix}`;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
  pool.on('error', () => undefined);
  await pool.query(`CREATE SCHEMA ${name}`);
  return {
    name,
    pool,
    channel: `sg_invalidate_${suffix}`,
    async drop() {
      try {
        await pool.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await pool.end();
      }
    },
  };
}
