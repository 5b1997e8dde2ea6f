import { ConfigurationError } from '../errors.js';
import {
  checkSchemaName,
  DEFAULT_INVALIDATION_CHANNEL,
  DEFAULT_SQL_SCHEMA,
  invalidationSql,
  MAX_NOTIFY_PAYLOAD_BYTES,
} from './invalidation-sql.js';
import { runSql, type Queryable } from './queryable.js';

/** Which columns of one membership / permission table identify what a change affects. */
export interface InvalidationTriggerMapping {
  /** The table, as Postgres would parse it: `team_members`, `public.team_members`, `"Odd"."Name"`. */
  table: string;
  /** Column holding the user id; each changed row invalidates `{ userId }`. */
  userColumn?: string | undefined;
  /** Column holding the resource id; each changed row invalidates `{ resourceId }`. */
  resourceColumn?: string | undefined;
  /**
   * Column whose value, prefixed by `tagPrefix`, names a tag (a team, an org) the
   * affected decisions carry. Also the fallback when the full message is too large,
   * so map it only when every decision depending on a row carries that tag.
   */
  tagColumn?: string | undefined;
  /** Prefix for tag values, e.g. `team:`. @default "" */
  tagPrefix?: string | undefined;
  /** `NOTIFY` channel. @default "supaguard_invalidate" */
  channel?: string | undefined;
  /** Payload limit before the fallback applies (64–7999). @default 7999 */
  maxPayloadBytes?: number | undefined;
  /** Schema holding the supaguard functions. @default "supaguard" */
  schema?: string | undefined;
}

function validateMapping(mapping: InvalidationTriggerMapping): void {
  if (typeof mapping !== 'object' || mapping === null) throw new ConfigurationError('mapping', 'must be an object');
  if (typeof mapping.table !== 'string' || mapping.table.trim() === '') throw new ConfigurationError('table', 'must be a table name');
  const columns = [mapping.userColumn, mapping.resourceColumn, mapping.tagColumn];
  if (columns.every((c) => c === undefined)) {
    throw new ConfigurationError('mapping', 'must name at least one of userColumn, resourceColumn, tagColumn');
  }
  for (const [field, value] of [['userColumn', mapping.userColumn], ['resourceColumn', mapping.resourceColumn], ['tagColumn', mapping.tagColumn]] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw new ConfigurationError(field, 'must be a non-empty column name');
  }
  const channel = mapping.channel ?? DEFAULT_INVALIDATION_CHANNEL;
  if (typeof channel !== 'string' || channel === '' || Buffer.byteLength(channel) > 63) {
    throw new ConfigurationError('channel', 'must be 1 to 63 bytes');
  }
  const max = mapping.maxPayloadBytes ?? MAX_NOTIFY_PAYLOAD_BYTES;
  if (!Number.isInteger(max) || max < 64 || max > MAX_NOTIFY_PAYLOAD_BYTES) {
    throw new ConfigurationError('maxPayloadBytes', `must be an integer between 64 and ${MAX_NOTIFY_PAYLOAD_BYTES}`);
  }
}

/**
 * Installs the supaguard SQL (idempotent) and the statement-level invalidation
 * triggers on each mapped table. Running it again replaces the triggers, so it
 * fits a deploy step. Works with a `pg.Client`, `pg.Pool` or `PoolClient`.
 *
 * @param db - A connection allowed to create functions and triggers.
 * @param mappings - One mapping or several.
 * @throws {@link ConfigurationError} for an invalid mapping (checked before any SQL runs).
 * @throws {@link DatabaseError} when Postgres refuses (unknown table or column: `dbCode` `42P01` / `42703`).
 * @example
 * ```ts
 * import { installInvalidationTriggers } from 'supaguard/postgres';
 * await installInvalidationTriggers(pool, [
 *   { table: 'public.team_members', userColumn: 'user_id', tagColumn: 'team_id', tagPrefix: 'team:' },
 *   { table: 'public.document_grants', userColumn: 'user_id', resourceColumn: 'document_id' },
 * ]);
 * ```
 */
export async function installInvalidationTriggers(
  db: Queryable,
  mappings: InvalidationTriggerMapping | readonly InvalidationTriggerMapping[],
): Promise<void> {
  const list: readonly InvalidationTriggerMapping[] = Array.isArray(mappings) ? mappings : [mappings as InvalidationTriggerMapping];
  list.forEach(validateMapping);
  const schemas = new Set(list.map((m) => checkSchemaName(m.schema ?? DEFAULT_SQL_SCHEMA)));
  for (const schema of schemas) {
    await runSql(db, 'postgres.installSql', invalidationSql({ schema }));
  }
  for (const m of list) {
    const schema = m.schema ?? DEFAULT_SQL_SCHEMA;
    await runSql(db, 'postgres.installTriggers', `SELECT ${schema}.install_invalidation_triggers($1::regclass, $2, $3, $4, $5, $6, $7)`, [
      m.table,
      m.userColumn ?? null,
      m.resourceColumn ?? null,
      m.tagColumn ?? null,
      m.tagPrefix ?? '',
      m.channel ?? DEFAULT_INVALIDATION_CHANNEL,
      m.maxPayloadBytes ?? MAX_NOTIFY_PAYLOAD_BYTES,
    ]);
  }
}

/**
 * Removes the invalidation triggers from a table (the functions stay).
 *
 * @throws {@link DatabaseError} when the table does not exist or the SQL is not installed.
 * @example
 * ```ts
 * await uninstallInvalidationTriggers(pool, 'public.team_members');
 * ```
 */
export async function uninstallInvalidationTriggers(db: Queryable, table: string, options: { schema?: string } = {}): Promise<void> {
  if (typeof table !== 'string' || table.trim() === '') throw new ConfigurationError('table', 'must be a table name');
  const schema = checkSchemaName(options.schema ?? DEFAULT_SQL_SCHEMA);
  await runSql(db, 'postgres.uninstallTriggers', `SELECT ${schema}.uninstall_invalidation_triggers($1::regclass)`, [table]);
}
