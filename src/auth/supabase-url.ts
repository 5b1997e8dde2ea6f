import { ConfigurationError } from '../errors.js';

/**
 * Parses and normalises a Supabase project URL (no trailing slash).
 *
 * @param value - e.g. `https://abcdefghijklmnopqrst.supabase.co`.
 * @param field - Option name used in the error.
 * @throws {@link ConfigurationError} when it is not an http(s) URL.
 * @example
 * ```ts
 * normaliseSupabaseUrl('https://ref.supabase.co/', 'supabaseUrl'); // 'https://ref.supabase.co'
 * ```
 */
export function normaliseSupabaseUrl(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ConfigurationError(field, 'must be a string URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new ConfigurationError(field, 'must be an http(s) URL', { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigurationError(field, 'must be an http(s) URL');
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigurationError(field, 'must not carry credentials, a query or a fragment');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The project ref of a hosted Supabase URL (`https://<ref>.supabase.co`), or
 * `undefined` for self-hosted and local URLs.
 *
 * @example
 * ```ts
 * projectRefFromUrl('https://abcdefghijklmnopqrst.supabase.co'); // 'abcdefghijklmnopqrst'
 * ```
 */
export function projectRefFromUrl(url: string): string | undefined {
  const host = new URL(url).hostname;
  const match = /^([a-z0-9]{20})\.supabase\.(?:co|in|red)$/.exec(host);
  return match?.[1];
}
