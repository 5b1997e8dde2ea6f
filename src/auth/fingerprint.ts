import { hash } from 'node:crypto';

/**
 * SHA-256 fingerprint of a secret (a token or key), used as a cache key so the
 * secret itself is never stored.
 *
 * @example
 * ```ts
 * cache.get(fingerprint(token));
 * ```
 */
export function fingerprint(secret: string): string {
  return hash('sha256', secret, 'base64');
}

/**
 * The first characters of a secret, safe to log (at most 6).
 *
 * @example
 * ```ts
 * secretPrefix('sb_secret_abc'); // 'sb_sec'
 * ```
 */
export function secretPrefix(secret: string): string {
  return secret.slice(0, 6);
}
