import type { SupabaseClient } from '@supabase/supabase-js';
import { describe, expectTypeOf, it } from 'vitest';
import { runQuery } from '../../src/client/run-query.js';

interface Database {
  public: {
    Tables: {
      projects: { Row: { id: number; name: string }; Insert: { id?: number; name: string }; Update: { id?: number; name?: string }; Relationships: [] };
    };
    Views: Record<never, never>;
    Functions: Record<never, never>;
    Enums: Record<never, never>;
    CompositeTypes: Record<never, never>;
  };
}
declare const db: SupabaseClient<Database>;

describe('runQuery types', () => {
  it('resolves to the rows of a select, never null (errors are thrown)', () => {
    expectTypeOf(runQuery(db.from('projects').select('id, name'))).resolves.toEqualTypeOf<{ id: number; name: string }[]>();
  });
  it('resolves to one row for .single() and row | null for .maybeSingle()', () => {
    expectTypeOf(runQuery(db.from('projects').select('id').single())).resolves.toEqualTypeOf<{ id: number }>();
    expectTypeOf(runQuery(db.from('projects').select('id').maybeSingle())).resolves.toEqualTypeOf<{ id: number } | null>();
  });
});
