/**
 * `supaguard/postgres` — Postgres backends (`pg` is an optional peer; you pass your own Pool).
 *
 * @module
 */
export { postgresAuditSink, auditLogTableSql, PostgresAuditSink, type PostgresAuditSinkOptions, type AuditQueryable } from './postgres/audit-sink.js';
