// Filled in by the observe module; re-exported from the core entry.
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
