import { InvalidIdentifierError } from '../errors.js';
import { isUuid, ValidatedIdentifiers, type IdentifierValidator } from './keys.js';

/** The three parts of an authorization key, as a request carries them. */
export interface KeyParts {
  readonly userId: string;
  readonly resourceId: string;
  readonly action: string;
}

/**
 * One remembered key: its action, the key, the pair's scopes, and the last answer `check` gave from L1 for it
 * (the entry and its resolved promise), so repeated hits on one entry return the same settled promise.
 */
export interface KeyRecord {
  readonly action: string;
  readonly key: string;
  /** The pair's invalidation scopes `[u:{user}, r:resource]`, one shared array per pair. */
  readonly scopes: readonly string[];
  /** The L1 entry `answer` was made from. */
  answered: unknown;
  /** `Promise.resolve(answered.value)`. */
  answer: Promise<unknown> | undefined;
  /** L1's memo of where the key's entry lives (the record is the key's {@link PeekHint}). */
  slot: unknown;
}

/** A key record in a (user, resource) pair's short list (a resource sees few actions). */
interface ActionKey extends KeyRecord {
  readonly next: ActionKey | undefined;
}

/** A user's keys by resource, and the last one used (a user often asks about one resource repeatedly). */
interface UserKeys {
  readonly byResource: Map<string, ActionKey>;
  last: ActionKey;
  lastResource: string;
}

/** Composed keys remembered at most; past it the memo starts over (each key is then composed once more). */
const MAX_MEMOISED_KEYS = 50_000;
/** Actions remembered per (user, resource) pair, so a flood of action names cannot grow a long list. */
const MAX_ACTIONS_PER_PAIR = 8;

/**
 * Validates and composes authorization keys, remembering the composed key of
 * each (user, resource, action) it has seen. On the hot path a key is two Map
 * lookups on the request's own id strings (whose hashes V8 caches) and an
 * identity compare of the action — no new string is built, so the L1 lookup
 * hashes a string it has hashed before. Composing a key string and hashing it
 * costs 4–10× an lru-cache hit, which is why this memo exists.
 *
 * Only keys of validated ids are remembered, so a remembered key needs no
 * validation; validators must be pure (the same answer for the same string).
 * Bounded: it starts over past 50,000 keys.
 *
 * @example
 * ```ts
 * const keys = new AuthorizationKeys(isUuid);
 * keys.keyOf({ userId, resourceId, action: 'read' }); // 'authz:{…}:…:read', throws E_INVALID_ID for bad ids
 * ```
 */
export class AuthorizationKeys {
  private readonly users: ValidatedIdentifiers;
  private readonly resources: ValidatedIdentifiers;
  private readonly actions: ValidatedIdentifiers;
  /** userId → resourceId → the actions' keys. */
  private readonly memo = new Map<string, UserKeys>();
  private size = 0;

  constructor(validateId: IdentifierValidator = isUuid) {
    this.users = new ValidatedIdentifiers('userId', validateId);
    this.resources = new ValidatedIdentifiers('resourceId', validateId);
    this.actions = new ValidatedIdentifiers('action', undefined, 1_000);
  }

  /**
   * The key `authz:{<userId>}:<resourceId>:<action>` of `request` (same string as `authorizationKey()`).
   *
   * @throws {@link InvalidIdentifierError} for a missing request or an invalid id or action.
   */
  keyOf(request: KeyParts): string {
    return this.entryOf(request).key;
  }

  /**
   * The invalidation scopes of `request`'s key, `[userScope(userId), resourceScope(resourceId)]`: the same
   * (frozen) array for every request of one pair, so reading them allocates nothing.
   *
   * @throws {@link InvalidIdentifierError} for a missing request or an invalid id or action.
   */
  scopesOf(request: KeyParts): readonly string[] {
    return this.entryOf(request).scopes;
  }

  /**
   * The record of `request`'s key (validated, remembered).
   *
   * @throws {@link InvalidIdentifierError} for a missing request or an invalid id or action.
   */
  lookup(request: KeyParts): KeyRecord {
    return this.entryOf(request);
  }

  private entryOf(request: KeyParts): ActionKey {
    if (typeof request !== 'object' || request === null) throw new InvalidIdentifierError('request');
    // Map.get on a non-string (a number, undefined) simply misses: validation happens on the slow path.
    const user = this.memo.get(request.userId);
    if (user !== undefined) {
      const action = request.action;
      const resourceId = request.resourceId;
      if (user.lastResource === resourceId && user.last.action === action) return user.last;
      for (let node = user.byResource.get(resourceId); node !== undefined; node = node.next) {
        if (node.action === action) {
          user.last = node;
          user.lastResource = resourceId;
          return node;
        }
      }
    }
    return this.compose(request);
  }

  /** Validates, composes and remembers. */
  private compose(request: KeyParts): ActionKey {
    // Validation order decides which field an error names: user, then resource, then action.
    const user = this.users.escaped(request.userId);
    const resource = this.resources.escaped(request.resourceId);
    const action = this.actions.escaped(request.action);
    const key = `authz:{${user}}:${resource}:${action}`;
    if (this.size >= MAX_MEMOISED_KEYS) {
      this.memo.clear();
      this.size = 0;
    }
    const found = this.memo.get(request.userId);
    const byResource = found?.byResource ?? new Map<string, ActionKey>();
    const head = byResource.get(request.resourceId);
    // Same strings as userScope() / resourceScope(), from the escaped parts.
    const scopes = head?.scopes ?? Object.freeze([`u:{${user}}`, `r:${resource}`]);
    const node: ActionKey = { action: request.action, key, scopes, answered: undefined, answer: undefined, slot: undefined, next: head };
    let length = 0;
    for (let n = head; n !== undefined; n = n.next) length++;
    if (length < MAX_ACTIONS_PER_PAIR) {
      byResource.set(request.resourceId, node);
      this.size++;
      if (found === undefined) this.memo.set(request.userId, { byResource, last: node, lastResource: request.resourceId });
      else {
        found.last = node;
        found.lastResource = request.resourceId;
      }
    }
    return node;
  }
}
