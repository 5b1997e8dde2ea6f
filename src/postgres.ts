/**
 * `supaguard/postgres` — database-driven cache invalidation (triggers + LISTEN)
 * and consistency tokens. Needs the optional peer `pg`.
 *
 * @module
 */
export { invalidationSql, checkSchemaName, DEFAULT_SQL_SCHEMA, DEFAULT_INVALIDATION_CHANNEL, MAX_NOTIFY_PAYLOAD_BYTES, type SqlOptions } from './postgres/invalidation-sql.js';
export { installInvalidationTriggers, uninstallInvalidationTriggers, type InvalidationTriggerMapping } from './postgres/install-triggers.js';
export { parseInvalidationPayload, type InvalidationMessage, type InvalidationScope } from './postgres/invalidation-message.js';
export {
  postgresInvalidationListener,
  PostgresInvalidationListener,
  type PostgresInvalidationListenerOptions,
  type PostgresInvalidationListenerEvents,
  type PostgresInvalidationListenerStats,
  type InvalidationTarget,
} from './postgres/invalidation-listener.js';
export type { PgListenClient, PgNotification } from './postgres/pg-client.js';
export type { Queryable } from './postgres/queryable.js';
export { consistencySql } from './postgres/consistency-sql.js';
export { writeConsistencyToken, readConsistencyVersion, type ConsistencyOptions } from './postgres/consistency-token.js';
