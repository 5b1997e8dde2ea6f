import { hash, timingSafeEqual } from 'node:crypto';
import { compactVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import { ConfigurationError } from '../errors.js';
import { channels } from '../observe/channels.js';
import { parseCompactJws } from './compact-jws.js';
import { fingerprint, secretPrefix } from './fingerprint.js';
import { normaliseSupabaseUrl, projectRefFromUrl } from './supabase-url.js';

/** Why a key was refused; stable, safe to log and branch on. */
export type ServiceKeyFailureReason =
  /** Empty or not a string. */
  | 'missing'
  /** An `sb_publishable_…` key: never a service key. */
  | 'publishable-key'
  /** An `sb_secret_…` key that equals none of the configured secret keys (or none are configured). */
  | 'unknown-secret-key'
  /** Neither an `sb_secret_…` key nor a well-formed JWT. */
  | 'malformed'
  /** A legacy JWT whose `alg` is not HS256. */
  | 'algorithm'
  /** A legacy JWT whose HS256 signature does not match the configured JWT secret. */
  | 'signature'
  /** A legacy JWT whose `role` is not `service_role`. */
  | 'not-service-role'
  /** A legacy JWT whose `ref` is not the configured project's. */
  | 'wrong-project'
  /** A legacy JWT issued by `supabase-demo` (local development keys) without `allowDemoKeys`. */
  | 'demo-key'
  /** A legacy JWT with a missing or wrongly-typed `iss`, `exp` or `ref`. */
  | 'claims'
  /** A legacy JWT whose `exp` has passed. */
  | 'expired';

/** The outcome of {@link ServiceKeyCache.validate}. */
export type ServiceKeyValidation =
  | {
      readonly valid: true;
      readonly kind: 'legacy-jwt' | 'secret';
      /** For a secret key from a name → key map: its name. */
      readonly name?: string;
      /** For a legacy JWT: its project ref (absent for demo keys). */
      readonly projectRef?: string;
      /** For a legacy JWT: true when its HS256 signature was checked against `jwtSecret`. */
      readonly signatureVerified?: boolean;
    }
  | {
      readonly valid: false;
      readonly reason: ServiceKeyFailureReason;
      /** At most the first 6 characters of the key, for logs. */
      readonly keyPrefix: string;
    };

/** Options of {@link createServiceKeyCache}. */
export interface ServiceKeyCacheOptions {
  /** The project URL; the project ref of a hosted project is read from it. */
  supabaseUrl?: string;
  /** The project ref, for self-hosted / custom-domain URLs it cannot be read from. */
  projectRef?: string;
  /** Secret keys: one `sb_secret_…` key, a name → key map, or that map as JSON text (`SUPABASE_SECRET_KEYS`). */
  secretKeys?: string | Readonly<Record<string, string>>;
  /** The legacy JWT secret; when set, legacy keys must carry a valid HS256 signature. */
  jwtSecret?: string;
  /** Accept `supabase-demo` keys (local development only). @default false */
  allowDemoKeys?: boolean;
  /** How long a valid result is cached (never past a legacy key's `exp`). @default 300000 */
  ttlMs?: number;
  /** How long an invalid result is cached. @default 10000 */
  negativeTtlMs?: number;
  /** Fingerprints kept. @default 1000 */
  maxEntries?: number;
  /** Clock in ms since the epoch (tests). @default Date.now */
  now?: () => number;
}

const MAX_KEY_LENGTH = 4096;

interface CachedResult {
  readonly result: ServiceKeyValidation;
  readonly expiresAt: number;
}

interface ConfiguredSecret {
  readonly name: string | undefined;
  readonly digest: Buffer;
}

/**
 * Validates Supabase service keys — legacy `service_role` JWTs and opaque
 * `sb_secret_…` keys — and caches the result by SHA-256 fingerprint, so a hot
 * path costs a hash and a map lookup. The raw key is never stored, logged or put
 * in a result (at most its first 6 characters).
 *
 * @example
 * ```ts
 * const keys = new ServiceKeyCache({ supabaseUrl, secretKeys: process.env.SUPABASE_SECRET_KEYS });
 * const result = await keys.validate(req.headers.apikey);
 * ```
 */
export class ServiceKeyCache {
  private readonly cache: LRUCache<string, CachedResult>;
  private readonly inflight = new Map<string, Promise<ServiceKeyValidation>>();
  private readonly secrets: readonly ConfiguredSecret[];
  private readonly projectRef: string | undefined;
  private readonly hmacKey: Promise<CryptoKeyLike> | undefined;
  private readonly allowDemoKeys: boolean;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly now: () => number;

  constructor(options: ServiceKeyCacheOptions = {}) {
    this.now = options.now ?? Date.now;
    this.ttlMs = nonNegative(options.ttlMs, 300_000, 'ttlMs');
    this.negativeTtlMs = nonNegative(options.negativeTtlMs, 10_000, 'negativeTtlMs');
    this.allowDemoKeys = options.allowDemoKeys === true;
    this.projectRef = options.projectRef ?? (options.supabaseUrl === undefined ? undefined : projectRefFromUrl(normaliseSupabaseUrl(options.supabaseUrl, 'supabaseUrl')));
    this.secrets = parseSecretKeys(options.secretKeys);
    if (options.jwtSecret !== undefined) {
      if (typeof options.jwtSecret !== 'string' || options.jwtSecret.length < 32) throw new ConfigurationError('jwtSecret', 'must be at least 32 characters');
      const bytes = new TextEncoder().encode(options.jwtSecret);
      this.hmacKey = crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    }
    this.cache = new LRUCache({ max: Math.max(1, nonNegative(options.maxEntries, 1_000, 'maxEntries')) });
  }

  /**
   * Validates `key`. Never throws for any input: failures are results with a reason.
   *
   * @param key - The presented key (e.g. the `apikey` header).
   * @returns `{ valid: true, kind, … }` or `{ valid: false, reason, keyPrefix }`.
   * @example
   * ```ts
   * const r = await keys.validate(key);
   * if (!r.valid) log.warn({ reason: r.reason, key: r.keyPrefix });
   * ```
   */
  validate(key: unknown): Promise<ServiceKeyValidation> {
    if (typeof key !== 'string' || key === '') return Promise.resolve({ valid: false, reason: 'missing', keyPrefix: '' });
    // Refused before hashing, so a flood of huge values costs nothing and fills no cache.
    if (key.length > MAX_KEY_LENGTH) return Promise.resolve({ valid: false, reason: 'malformed', keyPrefix: secretPrefix(key) });
    // The hot path needs only the fingerprint string; the digest bytes are rebuilt from it on a miss.
    const id = fingerprint(key);
    const cached = this.cache.get(id);
    if (cached !== undefined && this.now() < cached.expiresAt) {
      if (channels.serviceKeyHit.hasSubscribers) channels.serviceKeyHit.publish({});
      return Promise.resolve(cached.result);
    }
    if (channels.serviceKeyMiss.hasSubscribers) channels.serviceKeyMiss.publish({});
    let pending = this.inflight.get(id);
    if (pending === undefined) {
      pending = this.compute(key, Buffer.from(id, 'base64'))
        .catch((): Outcome => ({ result: { valid: false, reason: 'malformed', keyPrefix: secretPrefix(key) } }))
        .then(({ result, notAfter }) => {
          const ttl = result.valid ? this.ttlMs : this.negativeTtlMs;
          this.cache.set(id, { result, expiresAt: Math.min(this.now() + ttl, notAfter ?? Infinity) });
          return result;
        })
        .finally(() => this.inflight.delete(id));
      this.inflight.set(id, pending);
    }
    return pending;
  }

  private async compute(key: string, digest: Buffer): Promise<Outcome> {
    const fail = (reason: ServiceKeyFailureReason): Outcome => ({ result: { valid: false, reason, keyPrefix: secretPrefix(key) } });
    if (key.startsWith('sb_publishable_')) return fail('publishable-key');
    if (key.startsWith('sb_secret_')) {
      let match: ConfiguredSecret | undefined;
      // Every configured key is compared, so timing does not reveal which one matched.
      for (const secret of this.secrets) if (timingSafeEqual(secret.digest, digest)) match ??= secret;
      if (match === undefined) return fail('unknown-secret-key');
      return { result: match.name === undefined ? { valid: true, kind: 'secret' } : { valid: true, kind: 'secret', name: match.name } };
    }
    let parsed;
    try {
      parsed = parseCompactJws(key, { maxLength: MAX_KEY_LENGTH });
    } catch {
      return fail('malformed');
    }
    if (parsed.header.alg !== 'HS256') return fail('algorithm');
    if (this.hmacKey !== undefined) {
      try {
        await compactVerify(key, await this.hmacKey, { algorithms: ['HS256'] });
      } catch {
        return fail('signature');
      }
    }
    const claims = parsed.payload;
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return fail('claims');
    const { role, iss, exp, ref } = claims as Record<string, unknown>;
    if (role !== 'service_role') return fail('not-service-role');
    if (typeof iss !== 'string' || iss === '' || typeof exp !== 'number' || !Number.isFinite(exp)) return fail('claims');
    if (exp * 1000 <= this.now()) return fail('expired');
    const demo = iss === 'supabase-demo';
    if (demo && !this.allowDemoKeys) return fail('demo-key');
    if (!demo) {
      if (typeof ref !== 'string') return fail('claims');
      if (this.projectRef === undefined || ref !== this.projectRef) return fail('wrong-project');
    }
    const base = { valid: true, kind: 'legacy-jwt', signatureVerified: this.hmacKey !== undefined } as const;
    return { result: typeof ref === 'string' ? { ...base, projectRef: ref } : base, notAfter: exp * 1000 };
  }
}

type CryptoKeyLike = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** A validation result and, for a legacy JWT, the time (ms) its positive cache entry must end. */
interface Outcome {
  readonly result: ServiceKeyValidation;
  readonly notAfter?: number;
}

/**
 * Creates a {@link ServiceKeyCache}.
 *
 * @param options - Project, configured keys and cache lifetimes.
 * @throws {@link ConfigurationError} when `secretKeys` is not a key or a name → key map of `sb_secret_…` keys.
 * @example
 * ```ts
 * import { createServiceKeyCache } from 'supaguard';
 * const keys = createServiceKeyCache({
 *   supabaseUrl: process.env.SUPABASE_URL,
 *   secretKeys: process.env.SUPABASE_SECRET_KEYS, // '{"default":"sb_secret_…"}'
 * });
 * const result = await keys.validate(req.headers.apikey);
 * if (!result.valid) return res.status(401).end();
 * ```
 */
export function createServiceKeyCache(options?: ServiceKeyCacheOptions): ServiceKeyCache {
  return new ServiceKeyCache(options);
}

function parseSecretKeys(value: ServiceKeyCacheOptions['secretKeys']): ConfiguredSecret[] {
  if (value === undefined) return [];
  let entries: Array<[string | undefined, unknown]>;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('{')) {
      let map: unknown;
      try {
        map = JSON.parse(text);
      } catch (cause) {
        throw new ConfigurationError('secretKeys', 'is not valid JSON', { cause });
      }
      if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new ConfigurationError('secretKeys', 'must be a JSON object of name → key');
      entries = Object.entries(map);
    } else {
      entries = [[undefined, text]];
    }
  } else if (typeof value === 'object' && value !== null) {
    entries = Object.entries(value);
  } else {
    throw new ConfigurationError('secretKeys', 'must be a key, a name → key map or its JSON text');
  }
  return entries.map(([name, key]) => {
    if (typeof key !== 'string' || !key.startsWith('sb_secret_') || key.length < 20) {
      throw new ConfigurationError('secretKeys', `entry ${name === undefined ? '' : `"${name}" `}must be an sb_secret_… key`);
    }
    return { name, digest: hash('sha256', key, 'buffer') };
  });
}

function nonNegative(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) throw new ConfigurationError(field, 'must be a finite number >= 0');
  return value;
}
