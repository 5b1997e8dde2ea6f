/**
 * `supaguard/postgres` — Postgres backends: database-driven cache invalidation
 * (triggers + LISTEN), consistency tokens, and the audit-log sink. Needs the
 * optional peer `pg` (you pass your own Pool or Client).
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
export { postgresAuditSink, auditLogTableSql, PostgresAuditSink, type PostgresAuditSinkOptions, type AuditQueryable } from './postgres/audit-sink.js';
export { consistencySql } from './postgres/consistency-sql.js';
export { writeConsistencyToken, readConsistencyVersion, type ConsistencyOptions } from './postgres/consistency-token.js';
