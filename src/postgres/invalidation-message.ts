import { DatabaseError } from '../errors.js';

/** One scope the listener passes to `cache.invalidate()`. */
export type InvalidationScope = { userId: string } | { resourceId: string } | { tag: string };

/** A decoded trigger notification. */
export type InvalidationMessage =
  | {
      readonly kind: 'scopes';
      readonly scopes: readonly InvalidationScope[];
      /** `tags` when the trigger dropped user / resource ids to stay under the payload limit. */
      readonly fallback: 'tags' | undefined;
    }
  | {
      readonly kind: 'clear';
      /** `clear` when even the tags did not fit; `undefined` for TRUNCATE. */
      readonly fallback: 'clear' | undefined;
    };

const MAX_PAYLOAD_CHARS = 8_000;

function stringList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw malformed(`"${field}" must be an array of strings`);
  }
  return value;
}

function malformed(problem: string, cause?: unknown): DatabaseError {
  return new DatabaseError(`malformed invalidation payload: ${problem}`, { operation: 'postgres.notification' }, cause === undefined ? undefined : { cause });
}

/**
 * Decodes a payload sent by `notify_invalidation()`:
 * `{"v":1,"u":[…],"r":[…],"t":[…]}`, `{"v":1,"t":[…],"f":"tags"}` or `{"v":1,"all":true}`.
 *
 * @throws {@link DatabaseError} (`operation` `postgres.notification`) for anything else; the
 *   listener answers that with a broad invalidation rather than risk a stale entry.
 * @example
 * ```ts
 * const message = parseInvalidationPayload('{"v":1,"u":["6f1c…"]}');
 * if (message.kind === 'scopes') for (const scope of message.scopes) await cache.invalidate(scope);
 * ```
 */
export function parseInvalidationPayload(payload: unknown): InvalidationMessage {
  if (typeof payload !== 'string' || payload.length > MAX_PAYLOAD_CHARS) throw malformed('not a string under 8000 characters');
  let data: unknown;
  try {
    data = JSON.parse(payload);
  } catch (err) {
    throw malformed('not JSON', err);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw malformed('not an object');
  const record = data as Record<string, unknown>;
  if (record.v !== 1) throw malformed('unknown version');
  if (record.all === true) return { kind: 'clear', fallback: record.f === 'clear' ? 'clear' : undefined };
  const scopes: InvalidationScope[] = [
    ...stringList(record.u, 'u').map((userId) => ({ userId })),
    ...stringList(record.r, 'r').map((resourceId) => ({ resourceId })),
    ...stringList(record.t, 't').map((tag) => ({ tag })),
  ];
  if (scopes.length === 0) throw malformed('no ids');
  return { kind: 'scopes', scopes, fallback: record.f === 'tags' ? 'tags' : undefined };
}
