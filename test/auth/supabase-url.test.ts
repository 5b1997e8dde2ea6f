import { describe, expect, it } from 'vitest';
import { normaliseSupabaseUrl, projectRefFromUrl } from '../../src/auth/supabase-url.js';

describe('supabase-url', () => {
  it('normalises a project URL and reads the project ref of hosted projects', () => {
    expect(normaliseSupabaseUrl('https://abcdefghijklmnopqrst.supabase.co/', 'url')).toBe('https://abcdefghijklmnopqrst.supabase.co');
    expect(projectRefFromUrl('https://abcdefghijklmnopqrst.supabase.co')).toBe('abcdefghijklmnopqrst');
    expect(projectRefFromUrl('http://127.0.0.1:54321')).toBeUndefined();
    expect(projectRefFromUrl('https://abcdefghijklmnopqrst.supabase.co.evil.example')).toBeUndefined();
  });

  it.each(['ftp://x', 'not a url', 'https://user:pw@x.supabase.co', 'https://x.supabase.co?a=1', 42])('refuses %s', (value) => {
    expect(() => normaliseSupabaseUrl(value, 'supabaseUrl')).toThrow(expect.objectContaining({ code: 'E_CONFIG', field: 'supabaseUrl' }));
  });
});
