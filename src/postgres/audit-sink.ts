import { ConfigurationError, DatabaseError } from '../errors.js';
import type { AuditRecord, AuditSink } from '../observe/audit-log.js';

/**
 * What the sink needs from a Postgres client: a `pg` `Pool` or `Client`, or
 * anything with the same `query(text, values)` (e.g. PGlite).
 */
export interface AuditQueryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/** Options for {@link postgresAuditSink}. */
export interface PostgresAuditSinkOptions {
  /** Your `pg` Pool (preferred) or anything with `query(text, values)`. The sink never ends it. */
  pool: AuditQueryable;
  /** Table name, optionally schema-qualified (`audit.events`). Plain identifiers only. @default "supaguard_audit_log" */
  table?: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function quoteTable(table: string): string {
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) {
    throw new ConfigurationError('table', 'must be an identifier or schema.identifier (letters, digits, underscore)');
  }
  return parts.map((p) => `"${p}"`).join('.');
}

/**
 * The `CREATE TABLE IF NOT EXISTS` statement for the audit table the sink writes to.
 *
 * @param table - Table name, optionally schema-qualified. @default "supaguard_audit_log"
 * @throws {@link ConfigurationError} when `table` is not a plain identifier.
 * @example
 * ```ts
 * await pool.query(auditLogTableSql('audit_log'));
 * ```
 */
export function auditLogTableSql(table = 'supaguard_audit_log'): string {
  return `CREATE TABLE IF NOT EXISTS ${quoteTable(table)} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL,
  user_id text,
  action text NOT NULL,
  resource_id text,
  outcome text,
  request_id text,
  meta jsonb
)`;
}

/**
 * Writes audit batches to Postgres with `pg`. Create it with {@link postgresAuditSink}.
 */
export class PostgresAuditSink implements AuditSink {
  readonly #pool: AuditQueryable;
  readonly #sql: string;

  constructor(options: PostgresAuditSinkOptions) {
    if (typeof options?.pool?.query !== 'function') throw new ConfigurationError('pool', 'must have a query(text, values) method (a pg Pool)');
    // unnest() of one array per column: one statement and seven parameters for
    // any batch size, so the 65,535-parameter limit never splits a batch.
    this.#sql =
      `INSERT INTO ${quoteTable(options.table ?? 'supaguard_audit_log')} (at, user_id, action, resource_id, outcome, request_id, meta) ` +
      'SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])';
    this.#pool = options.pool;
  }

  /** Inserts the batch in one statement; throws {@link DatabaseError} on failure. @example `await sink.write(records, { signal })` */
  async write(batch: readonly AuditRecord[], _options?: { signal?: AbortSignal }): Promise<void> {
    const n = batch.length;
    const at = new Array<string>(n);
    const users = new Array<string | null>(n);
    const actions = new Array<string>(n);
    const resources = new Array<string | null>(n);
    const outcomes = new Array<string | null>(n);
    const requests = new Array<string | null>(n);
    const metas = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      const e = batch[i] as AuditRecord;
      at[i] = new Date(e.at).toISOString();
      users[i] = e.userId ?? null;
      actions[i] = e.action;
      resources[i] = e.resourceId ?? null;
      outcomes[i] = e.outcome ?? null;
      requests[i] = e.requestId ?? null;
      metas[i] = e.meta == null ? null : JSON.stringify(e.meta);
    }
    try {
      await this.#pool.query(this.#sql, [at, users, actions, resources, outcomes, requests, metas]);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new DatabaseError('audit insert failed', { operation: 'audit.insert', dbCode: typeof code === 'string' ? code : undefined }, { cause: err });
    }
  }
}

/**
 * An {@link AuditSink} that writes each batch with one multi-row `INSERT`
 * (`INSERT … SELECT * FROM unnest(...)`) into `table`. Create the table with
 * {@link auditLogTableSql}. `pg` cannot cancel a running query, so a write the
 * audit log timed out may still land; the log retries it (at-least-once).
 *
 * Attach a `pool.on('error', …)` handler in your app: `pg` emits errors of idle
 * connections (e.g. the database restarting) on the pool.
 *
 * @param options - See {@link PostgresAuditSinkOptions}.
 * @throws {@link ConfigurationError} when `pool` or `table` is invalid.
 * @example
 * ```ts
 * import pg from 'pg';
 * import { createAuditLog } from 'supaguard';
 * import { postgresAuditSink, auditLogTableSql } from 'supaguard/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await pool.query(auditLogTableSql('audit_log'));
 * const audit = createAuditLog({ sink: postgresAuditSink({ pool, table: 'audit_log' }) });
 * ```
 */
export function postgresAuditSink(options: PostgresAuditSinkOptions): PostgresAuditSink {
  return new PostgresAuditSink(options);
}
