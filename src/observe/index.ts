// Observability (issue 8): diagnostics channels, injected logger, performance monitor.
export * from './channels.js';
export * from './logger.js';
export * from './performance-monitor.js';
export * from './traced-calls.js';
export * from './metric-catalog.js';
export * from './metric-events.js';
// Async audit log (issue 7).
export {
  createAuditLog,
  AuditLog,
  type AuditEntry,
  type AuditRecord,
  type AuditSink,
  type AuditLogOptions,
  type AuditLogStats,
  type AuditErrorListener,
} from './audit-log.js';
