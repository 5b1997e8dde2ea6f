import type { CacheEntry } from '../cache/types.js';
import { isVersion } from '../cache/version.js';

/**
 * Turns entries into Redis strings and back. `deserialize` returns
 * `undefined` for anything it does not recognise (a corrupt or foreign value
 * is a miss, never a crash).
 */
export interface EntrySerializer {
  serialize(entry: CacheEntry<unknown>): string | Buffer;
  deserialize(raw: string | Buffer): CacheEntry<unknown> | undefined;
}

const FORMAT = 1;

/**
 * The default serializer: a compact JSON tuple
 * `[1, value, createdAt, expiresAt, staleUntil, version, tags]`.
 *
 * @example
 * ```ts
 * redisLayer({ client, prefix: 'app:', serializer: jsonEntrySerializer });
 * ```
 */
export const jsonEntrySerializer: EntrySerializer = {
  serialize(entry) {
    return JSON.stringify([FORMAT, entry.value, entry.createdAt, entry.expiresAt, entry.staleUntil, entry.version, entry.tags]);
  },
  deserialize(raw) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
    } catch {
      return undefined;
    }
    if (!Array.isArray(parsed) || parsed.length !== 7 || parsed[0] !== FORMAT) return undefined;
    const createdAt: unknown = parsed[2];
    const expiresAt: unknown = parsed[3];
    const staleUntil: unknown = parsed[4];
    const version: unknown = parsed[5];
    const tags: unknown = parsed[6];
    if (typeof createdAt !== 'number' || typeof expiresAt !== 'number' || typeof staleUntil !== 'number') return undefined;
    if (!isVersion(version) || !Array.isArray(tags)) return undefined;
    for (let i = 0; i < tags.length; i++) if (typeof tags[i] !== 'string') return undefined;
    return { value: parsed[1] as unknown, createdAt, expiresAt, staleUntil, version, tags: tags as string[] };
  },
};
