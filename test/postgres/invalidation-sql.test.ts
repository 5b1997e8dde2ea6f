import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isConfigurationError } from '../../src/errors.js';
import { consistencySql } from '../../src/postgres/consistency-sql.js';
import { invalidationSql } from '../../src/postgres/invalidation-sql.js';

describe('invalidationSql', () => {
  it('is what ships as docs/sql/invalidation.sql (regenerate the file when the SQL changes)', () => {
    const shipped = readFileSync(new URL('../../docs/sql/invalidation.sql', import.meta.url), 'utf8');
    expect(shipped).toBe(invalidationSql());
  });

  it('consistencySql is what ships as docs/sql/consistency.sql', () => {
    const shipped = readFileSync(new URL('../../docs/sql/consistency.sql', import.meta.url), 'utf8');
    expect(shipped).toBe(consistencySql());
    expect(consistencySql({ schema: 'authz' })).not.toMatch(/supaguard\.(consistency_clock|write_version|read_version|widen_xid)/);
  });

  it('installs into the requested schema only', () => {
    const sql = invalidationSql({ schema: 'authz' });
    expect(sql).toContain('CREATE SCHEMA IF NOT EXISTS authz;');
    expect(sql).toContain('EXECUTE FUNCTION authz.notify_invalidation(');
    expect(sql).not.toMatch(/\bsupaguard\.\w+\(/);
  });

  it.each(['Upper', 'a-b', 'x; drop table y', '', 'a'.repeat(64)])('rejects the schema name %j', (schema) => {
    expect(() => invalidationSql({ schema })).toThrow(expect.objectContaining({ code: 'E_CONFIG', field: 'schema' }));
    try {
      invalidationSql({ schema });
    } catch (err) {
      expect(isConfigurationError(err)).toBe(true);
    }
  });
});
