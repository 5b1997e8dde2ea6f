import { checkSchemaName, DEFAULT_SQL_SCHEMA, type SqlOptions } from './invalidation-sql.js';

// `__SCHEMA__` is replaced by the (validated, unquoted) schema name.
const TEMPLATE = String.raw`-- supaguard: consistency versions for "at least as fresh" checks.
-- Versions are microseconds since the epoch (the cache's version space), taken
-- from the database's clock and serialised through one row, so a reader can
-- tell exactly which writes its snapshot contains. Idempotent.
SELECT pg_advisory_xact_lock(hashtext('supaguard.install'));

CREATE SCHEMA IF NOT EXISTS __SCHEMA__;

CREATE TABLE IF NOT EXISTS __SCHEMA__.consistency_clock (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  version bigint NOT NULL
);
INSERT INTO __SCHEMA__.consistency_clock (id, version) VALUES (true, 0) ON CONFLICT (id) DO NOTHING;

-- Call inside the writing transaction, after (or before) the permission change;
-- the result is the write's version: encode it as the consistency token.
-- Writers that call it are serialised on the clock row until they commit.
-- The row is locked before the clock is read: a reader that finds the row
-- unlocked then read it before this write's version existed, so its snapshot
-- version (its start time) is below it. (Locking inside the UPDATE would leave
-- a window between reading the clock and marking the row.)
-- SECURITY DEFINER, so callers need no privilege on the table: grant your app
-- role USAGE on the schema and EXECUTE on this function (not granted to PUBLIC).
CREATE OR REPLACE FUNCTION __SCHEMA__.write_version() RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $supaguard$
  SELECT 1 FROM __SCHEMA__.consistency_clock WHERE id FOR UPDATE;
  UPDATE __SCHEMA__.consistency_clock
  SET version = greatest(version + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
  WHERE id
  RETURNING version;
$supaguard$;
REVOKE ALL ON FUNCTION __SCHEMA__.write_version() FROM PUBLIC;

-- The 64-bit id of a 32-bit xid near a snapshot (within 2^31 of its xmax).
CREATE OR REPLACE FUNCTION __SCHEMA__.widen_xid(x xid, snap pg_snapshot) RETURNS xid8
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $supaguard$
  SELECT greatest(0, CASE
      WHEN f > m + 2147483648 THEN f - 4294967296
      WHEN f < m - 2147483648 THEN f + 4294967296
      ELSE f END)::text::xid8
  FROM (SELECT m, m - m % 4294967296 + x::text::bigint AS f
        FROM (SELECT pg_snapshot_xmax(snap)::text::bigint AS m) AS a) AS b;
$supaguard$;

-- Call in the same statement (or REPEATABLE READ transaction) as the loader's
-- decision query: the version of that snapshot. Every write whose version is
-- <= the result is visible in it; every write that is not has a larger version.
-- While a writer that is not visible in the snapshot holds the clock row, only
-- the last committed version is certain; otherwise the transaction's start time
-- (minus 1 µs) is: it precedes the snapshot, and any writer that takes the row
-- later reads the clock after it.
CREATE OR REPLACE FUNCTION __SCHEMA__.read_version() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $supaguard$
  SELECT CASE
    WHEN c.xmax::text <> '0' AND NOT pg_visible_in_snapshot(__SCHEMA__.widen_xid(c.xmax, s.snap), s.snap)
      THEN c.version
    ELSE greatest(c.version, (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint - 1)
  END
  FROM __SCHEMA__.consistency_clock AS c, (SELECT pg_current_snapshot() AS snap) AS s
  WHERE c.id;
$supaguard$;
`;

/**
 * The installable consistency-version SQL: a one-row clock table,
 * `write_version()` (inside a write transaction: the write's version) and
 * `read_version()` (inside a read: the snapshot's version). Both are
 * microseconds since the epoch, the version space of the authorization cache,
 * so `write_version()` encoded with `encodeConsistencyToken` is an
 * `atLeastAsFresh` token and `read_version()` is the loader's `version`.
 * Idempotent; ships as `docs/sql/consistency.sql` (schema `supaguard`).
 *
 * @throws {@link ConfigurationError} when `schema` is not a lower-case identifier.
 * @example
 * ```ts
 * await pool.query(consistencySql());
 * ```
 */
export function consistencySql(options: SqlOptions = {}): string {
  return TEMPLATE.replaceAll('__SCHEMA__', checkSchemaName(options.schema ?? DEFAULT_SQL_SCHEMA));
}
