import { encodeConsistencyToken, type ConsistencyToken } from '../cache/consistency-token.js';
import { DatabaseError } from '../errors.js';
import { checkSchemaName, DEFAULT_SQL_SCHEMA } from './invalidation-sql.js';
import { runSql, type Queryable } from './queryable.js';

/** Options for {@link writeConsistencyToken} and {@link readConsistencyVersion}. */
export interface ConsistencyOptions {
  /** Schema where `consistencySql()` was installed. @default "supaguard" */
  schema?: string | undefined;
}

function versionOf(rows: unknown[], operation: string): string {
  const value = (rows[0] as { version?: unknown } | undefined)?.version;
  if (typeof value !== 'string' || !/^[0-9]+$/.test(value)) {
    throw new DatabaseError('the consistency clock returned no version (is consistencySql() installed?)', { operation });
  }
  return value;
}

/**
 * Bumps the database's consistency clock inside the caller's write transaction
 * and returns the write's token, for `check(…, { atLeastAsFresh: token })`.
 * Pass the client that runs the transaction (not a pool): the token is only
 * meaningful once that transaction commits. Store it beside the content written
 * in the same transaction.
 *
 * @param db - The transaction's client.
 * @throws {@link DatabaseError} when the SQL is not installed or the query fails.
 * @example
 * ```ts
 * await client.query('BEGIN');
 * await client.query('DELETE FROM team_members WHERE team_id = $1 AND user_id = $2', [teamId, userId]);
 * const token = await writeConsistencyToken(client);
 * await client.query('INSERT INTO documents (id, team_id, authz_token) VALUES ($1, $2, $3)', [docId, teamId, token]);
 * await client.query('COMMIT');
 * ```
 */
export async function writeConsistencyToken(db: Queryable, options: ConsistencyOptions = {}): Promise<ConsistencyToken> {
  const schema = checkSchemaName(options.schema ?? DEFAULT_SQL_SCHEMA);
  const rows = await runSql(db, 'postgres.writeConsistencyToken', `SELECT ${schema}.write_version()::text AS version`);
  return encodeConsistencyToken(versionOf(rows, 'postgres.writeConsistencyToken'));
}

/**
 * The version of the snapshot a query on `db` sees, as the decimal string a
 * loader returns (`{ decisions, version }`). Only exact when it shares the
 * snapshot with the decision query: inside a `REPEATABLE READ` transaction on
 * the same client — otherwise select `supaguard.read_version()` in the decision
 * query itself.
 *
 * @throws {@link DatabaseError} when the SQL is not installed or the query fails.
 * @example
 * ```ts
 * await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
 * const version = await readConsistencyVersion(client);
 * const decisions = await loadDecisions(client, requests);
 * await client.query('COMMIT');
 * return { decisions, version };
 * ```
 */
export async function readConsistencyVersion(db: Queryable, options: ConsistencyOptions = {}): Promise<string> {
  const schema = checkSchemaName(options.schema ?? DEFAULT_SQL_SCHEMA);
  const rows = await runSql(db, 'postgres.readConsistencyVersion', `SELECT ${schema}.read_version()::text AS version`);
  return versionOf(rows, 'postgres.readConsistencyVersion');
}
