import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { auditLogTableSql } from 'supaguard/postgres';

/** The little the example needs from a database: parameterised queries returning rows. */
export interface Database {
  readonly kind: 'postgres' | 'pglite';
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** For `postgresAuditSink` (a `pg` Pool, or PGlite itself). */
  readonly auditPool: { query(text: string, values?: unknown[]): Promise<unknown> };
  close(): Promise<void>;
}

const sql = (name: string): Promise<string> => readFile(new URL(name, import.meta.url), 'utf8');

/**
 * Real Postgres when `databaseUrl` is given (tables created in `schema` when set),
 * else an embedded, in-process Postgres (PGlite). Schema and seed are applied
 * idempotently either way.
 */
export async function openDatabase(options: { databaseUrl?: string | undefined; schema?: string | undefined } = {}): Promise<Database> {
  const ddl = `${await sql('schema.sql')}\n${auditLogTableSql('audit_log')};\n${await sql('seed.sql')}`;
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: 10,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    });
    // Errors of idle connections (a database restart) are emitted on the pool.
    pool.on('error', (err) => console.warn('postgres pool error:', (err as { code?: string }).code ?? err.name));
    if (options.schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema.replace(/"/g, '')}"`);
    await pool.query(ddl);
    return {
      kind: 'postgres',
      query: async (text, params) => (await pool.query(text, params)).rows,
      auditPool: pool,
      close: () => pool.end(),
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite();
  await db.exec(ddl);
  return {
    kind: 'pglite',
    query: async <T>(text: string, params?: unknown[]) => (await db.query<T>(text, params)).rows,
    auditPool: db,
    close: () => db.close(),
  };
}
