import { createHash } from 'node:crypto';
import type { SupabaseClientOptions } from '@supabase/supabase-js';
import { ConfigurationError } from '../errors.js';

/**
 * What identifies a Supabase client: the project URL, an API key and supabase-js
 * `createClient` options.
 *
 * @example
 * ```ts
 * const config: SupabaseConfig = { url: process.env.SUPABASE_URL!, key: process.env.SUPABASE_SECRET_KEY! };
 * ```
 */
export interface SupabaseConfig<SchemaName extends string = 'public'> {
  /** Project URL, e.g. `https://abcd.supabase.co`. Must be http(s). */
  url: string;
  /** An API key (publishable, secret or legacy JWT). Never logged; fingerprinted with SHA-256. */
  key: string;
  /** supabase-js `createClient` options; server-safe auth defaults are applied on top. */
  options?: SupabaseClientOptions<SchemaName> | undefined;
}

const OBJECT_OPTIONS = ['db', 'auth', 'realtime', 'storage', 'global'] as const;
const KNOWN_OPTIONS = new Set<string>([...OBJECT_OPTIONS, 'accessToken', 'tracePropagation']);

/**
 * SHA-256 fingerprint of a secret (hex, first 32 chars). Used wherever a key
 * must identify something without being stored.
 *
 * @example
 * ```ts
 * fingerprint('sb_secret_…'); // '5f2b…'
 * ```
 */
export function fingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 32);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Validates a config and returns the normalised base URL (no trailing slash).
 *
 * @throws {@link index.ConfigurationError | ConfigurationError} naming the bad field.
 * @example
 * ```ts
 * validateSupabaseConfig({ url: 'https://x.supabase.co', key: 'k' }); // 'https://x.supabase.co'
 * ```
 */
export function validateSupabaseConfig(config: unknown): string {
  if (!isPlainObject(config)) throw new ConfigurationError('config', 'must be an object { url, key, options? }');
  const { url, key, options } = config;
  if (typeof url !== 'string' || url.trim() === '') throw new ConfigurationError('url', 'is required');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new ConfigurationError('url', 'is not a valid URL', { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigurationError('url', 'must use http or https');
  }
  if (typeof key !== 'string' || key.trim() === '') throw new ConfigurationError('key', 'must be a non-empty string');
  if (options !== undefined) {
    if (!isPlainObject(options)) throw new ConfigurationError('options', 'must be a plain object');
    for (const [name, value] of Object.entries(options)) {
      if (!KNOWN_OPTIONS.has(name)) throw new ConfigurationError(`options.${name}`, 'is not a supabase-js createClient option');
      if (value === undefined) continue;
      if ((OBJECT_OPTIONS as readonly string[]).includes(name) && !isPlainObject(value)) {
        throw new ConfigurationError(`options.${name}`, 'must be a plain object');
      }
      if (name === 'accessToken' && typeof value !== 'function') throw new ConfigurationError('options.accessToken', 'must be a function');
      if (name === 'tracePropagation' && typeof value !== 'boolean' && !isPlainObject(value)) {
        throw new ConfigurationError('options.tracePropagation', 'must be a boolean or an object');
      }
    }
  }
  return parsed.href.replace(/\/+$/, '');
}

// Shared on globalThis so the ESM and CJS builds give one function the same id.
interface IdentityTable {
  ids: WeakMap<object, number>;
  next: number;
}
const IDS_KEY = Symbol.for('supaguard.objectIds');
const idHolder = globalThis as unknown as Record<symbol, IdentityTable | undefined>;
const identities: IdentityTable = (idHolder[IDS_KEY] ??= { ids: new WeakMap(), next: 0 });

/** Stable text for option values: plain data by value, functions and class instances by identity. */
function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function') return `fn#${identity(value)}`;
    if (typeof value === 'string') return JSON.stringify(value);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (!isPlainObject(value)) return `obj#${identity(value)}`;
  const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(value[k])}`).join(',')}}`;
}

function identity(value: object): number {
  let id = identities.ids.get(value);
  if (id === undefined) {
    id = ++identities.next;
    identities.ids.set(value, id);
  }
  return id;
}

/**
 * The registry key of a config: base URL, SHA-256 of the key, and a canonical
 * form of the options (functions and class instances compared by identity).
 *
 * @example
 * ```ts
 * configKey({ url, key }) === configKey({ url, key, options: {} }); // true
 * ```
 */
export function configKey(config: SupabaseConfig<string>): string {
  const base = validateSupabaseConfig(config);
  const options = config.options && Object.keys(config.options).length > 0 ? stableStringify(config.options) : '{}';
  return `${base}|${fingerprint(config.key)}|${options}`;
}
