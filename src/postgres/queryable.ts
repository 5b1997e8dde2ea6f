import { DatabaseError } from '../errors.js';

/**
 * Anything with pg's `query(text, values?)`: a `pg.Client`, a `pg.Pool` or a
 * `PoolClient`. supaguard only needs this shape, so it never pins a pg version.
 */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * Runs one query and turns a driver error into a {@link DatabaseError} that keeps
 * the Postgres SQLSTATE as `dbCode`.
 *
 * @throws {@link DatabaseError} when the query fails.
 * @example
 * ```ts
 * const rows = await runSql(pool, 'postgres.consistencyToken', 'select 1');
 * ```
 */
export async function runSql(db: Queryable, operation: string, text: string, values?: unknown[]): Promise<unknown[]> {
  try {
    const result = await (values === undefined ? db.query(text) : db.query(text, values));
    return result.rows;
  } catch (err) {
    throw toDatabaseError(err, operation);
  }
}

/**
 * Wraps a pg error (or anything thrown) in a {@link DatabaseError}.
 *
 * @example
 * ```ts
 * client.on('error', (err) => emit(toDatabaseError(err, 'postgres.listen')));
 * ```
 */
export function toDatabaseError(err: unknown, operation: string): DatabaseError {
  if (err instanceof DatabaseError) return err;
  const fields = (typeof err === 'object' && err !== null ? err : {}) as { message?: unknown; code?: unknown; detail?: unknown; hint?: unknown };
  const message = typeof fields.message === 'string' && fields.message !== '' ? fields.message : String(err);
  return new DatabaseError(
    message,
    {
      operation,
      dbCode: typeof fields.code === 'string' ? fields.code : undefined,
      details: typeof fields.detail === 'string' ? fields.detail : undefined,
      hint: typeof fields.hint === 'string' ? fields.hint : undefined,
    },
    { cause: err },
  );
}
