import { InvalidIdentifierError } from '../errors.js';
import { isVersion } from './version.js';

/**
 * An opaque "at least as fresh as" token (Zanzibar's zookie, SpiceDB's
 * ZedToken). It carries a monotonic version; `check(req, { atLeastAsFresh })`
 * never answers from an entry older than it. Store it beside content written
 * after a permission change and pass it back when reading that content.
 */
export type ConsistencyToken = string & { readonly __consistencyToken: unique symbol };

const PREFIX = 'sgv1.';

/**
 * Encodes a version (a non-negative integer) as an opaque token.
 *
 * @throws {@link InvalidIdentifierError} (`E_INVALID_ID`) when `version` is not a non-negative integer.
 * @example
 * ```ts
 * const token = encodeConsistencyToken(12345n); // 'sgv1.9ix'
 * ```
 */
export function encodeConsistencyToken(version: string | bigint | number): ConsistencyToken {
  const text = typeof version === 'string' ? version : typeof version === 'bigint' ? version.toString() : Number.isSafeInteger(version) ? String(version) : '';
  if (!isVersion(text)) throw new InvalidIdentifierError('consistencyToken');
  return `${PREFIX}${BigInt(text).toString(36)}` as ConsistencyToken;
}

/**
 * Decodes a token back to its version (decimal string, see `compareVersions`).
 *
 * @throws {@link InvalidIdentifierError} (`E_INVALID_ID`, status 400) for anything that is not a token.
 * @example
 * ```ts
 * decodeConsistencyToken(encodeConsistencyToken('42')); // '42'
 * ```
 */
export function decodeConsistencyToken(token: string): string {
  if (typeof token !== 'string' || token.length > 40 || !token.startsWith(PREFIX)) throw new InvalidIdentifierError('atLeastAsFresh');
  const body = token.slice(PREFIX.length);
  if (!/^(0|[1-9a-z][0-9a-z]*)$/.test(body)) throw new InvalidIdentifierError('atLeastAsFresh');
  let value = 0n;
  for (const ch of body) value = value * 36n + BigInt(Number.parseInt(ch, 36));
  return value.toString();
}
