import { describe, expect, it } from 'vitest';
import { configKey, fingerprint, validateSupabaseConfig } from '../../src/client/config.js';
import type { ConfigurationError} from '../../src/errors.js';
import { isConfigurationError } from '../../src/errors.js';

const KEY = 'sb_secret_TOPSECRET_0123456789abcdef';
const url = 'https://abcd.supabase.co';

/** Everything an error exposes: message, stack, own properties and the cause chain. */
function everythingIn(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) parts.push(current.message, current.stack ?? '');
    parts.push(JSON.stringify(current, Object.getOwnPropertyNames(current)));
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

function configErrorOf(config: unknown): ConfigurationError {
  try {
    validateSupabaseConfig(config);
  } catch (err) {
    expect(isConfigurationError(err)).toBe(true);
    return err as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('validateSupabaseConfig', () => {
  it('returns the normalised base URL', () => {
    expect(validateSupabaseConfig({ url: 'https://abcd.supabase.co/', key: KEY })).toBe('https://abcd.supabase.co');
    expect(validateSupabaseConfig({ url: 'http://127.0.0.1:54321', key: KEY })).toBe('http://127.0.0.1:54321');
  });

  it.each([
    ['config', undefined],
    ['config', 'https://abcd.supabase.co'],
    ['url', { key: KEY }],
    ['url', { url: '', key: KEY }],
    ['url', { url: 'not a url', key: KEY }],
    ['url', { url: 'ftp://abcd.supabase.co', key: KEY }],
    ['url', { url: 'javascript:alert(1)', key: KEY }],
    ['key', { url }],
    ['key', { url, key: '' }],
    ['key', { url, key: '   ' }],
    ['key', { url, key: 42 }],
    ['options', { url, key: KEY, options: 'fast' }],
    ['options', { url, key: KEY, options: [] }],
    ['options.nonsense', { url, key: KEY, options: { nonsense: true } }],
    ['options.auth', { url, key: KEY, options: { auth: 'yes' } }],
    ['options.global', { url, key: KEY, options: { global: [] } }],
    ['options.db', { url, key: KEY, options: { db: null } }],
    ['options.accessToken', { url, key: KEY, options: { accessToken: 'a-token' } }],
    ['options.tracePropagation', { url, key: KEY, options: { tracePropagation: 'on' } }],
  ])('names the field %s for a bad config', (field, config) => {
    const err = configErrorOf(config);
    expect(err.code).toBe('E_CONFIG');
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
  });

  it('never puts the key in a message, stack, property or cause', () => {
    const bad: unknown[] = [
      { url: 'not a url', key: KEY },
      { url: 'ftp://x', key: KEY },
      { url, key: KEY, options: { auth: KEY } },
      { url, key: KEY, options: { accessToken: KEY } },
      { url, key: KEY, options: { nonsense: KEY } },
    ];
    for (const config of bad) {
      const err = configErrorOf(config);
      expect(everythingIn(err)).not.toContain(KEY);
      expect(everythingIn(err)).not.toContain('TOPSECRET');
    }
  });
});

describe('configKey', () => {
  it('holds a SHA-256 fingerprint of the key, never the key', () => {
    const k = configKey({ url, key: KEY });
    expect(k).not.toContain(KEY);
    expect(k).toContain(fingerprint(KEY));
    expect(fingerprint(KEY)).toMatch(/^[0-9a-f]{32}$/);
    expect(fingerprint(KEY)).not.toBe(fingerprint(`${KEY}x`));
  });

  it('is equal for equal configs, whatever the option order or a trailing slash', () => {
    const a = configKey({ url, key: KEY, options: { db: { schema: 'api' }, auth: { persistSession: false } } });
    const b = configKey({ url: `${url}/`, key: KEY, options: { auth: { persistSession: false }, db: { schema: 'api' } } });
    expect(a).toBe(b);
    expect(configKey({ url, key: KEY })).toBe(configKey({ url, key: KEY, options: {} }));
    expect(configKey({ url, key: KEY, options: { db: undefined } })).toBe(configKey({ url, key: KEY }));
  });

  it('differs for another URL, key or option value', () => {
    const base = configKey({ url, key: KEY });
    expect(configKey({ url: 'https://other.supabase.co', key: KEY })).not.toBe(base);
    expect(configKey({ url, key: `${KEY}2` })).not.toBe(base);
    expect(configKey({ url, key: KEY, options: { db: { schema: 'api' } } })).not.toBe(base);
    expect(configKey({ url, key: KEY, options: { db: { schema: 'api' } } })).not.toBe(configKey({ url, key: KEY, options: { db: { schema: 'app' } } }));
  });

  it('compares functions and class instances by identity', () => {
    const fetchA = (async () => new Response()) as typeof fetch;
    const fetchB = (async () => new Response()) as typeof fetch;
    expect(configKey({ url, key: KEY, options: { global: { fetch: fetchA } } })).toBe(configKey({ url, key: KEY, options: { global: { fetch: fetchA } } }));
    expect(configKey({ url, key: KEY, options: { global: { fetch: fetchA } } })).not.toBe(configKey({ url, key: KEY, options: { global: { fetch: fetchB } } }));
    const storageA = new Map();
    const storageB = new Map();
    const withStorage = (storage: Map<unknown, unknown>): string =>
      configKey({ url, key: KEY, options: { auth: { storage: storage as never } } });
    expect(withStorage(storageA)).toBe(withStorage(storageA));
    expect(withStorage(storageA)).not.toBe(withStorage(storageB));
  });
});
