import { importJWK, type JWK } from 'jose';
import { isSupaguardError, JwksUnavailableError } from '../errors.js';
import { traceCall, tracing } from '../observe/channels.js';
import { abortError, resolveBudget } from '../resilience/deadline.js';
import { fingerprint } from './fingerprint.js';

/** Algorithms a JWKS key may verify (what Supabase issues). */
export type JwksAlgorithm = 'ES256' | 'RS256';

/** A key object jose can verify with. */
export type VerificationKey = Awaited<ReturnType<typeof importJWK>>;

/** A verification key taken from a JWKS. */
export interface StoredKey {
  /** The JWK's `kid`, or a fingerprint of the key when it has none. */
  readonly id: string;
  /** `HS256` only for the legacy JWT secret, never for JWKS material. */
  readonly alg: JwksAlgorithm | 'HS256';
  readonly key: VerificationKey;
}

/** A JSON Web Key Set as served at `/.well-known/jwks.json`. */
export interface JsonWebKeySet {
  keys: JWK[];
}

/** Options of {@link JwksKeyStore}. */
export interface JwksKeyStoreOptions {
  /** Where to fetch the set. Exactly one of `url` and `jwks`. */
  url?: string | undefined;
  /** A static set, never fetched and never expiring. */
  jwks?: JsonWebKeySet | undefined;
  /** Limit of one fetch (the waiting request is also bounded by its deadline). */
  timeoutMs: number;
  /** An unknown `kid` triggers at most one fetch per this many ms. */
  cooldownMs: number;
  /** Keys older than this are never used. */
  maxAgeMs: number;
  /** Keys older than this are refreshed in the background while still in use. */
  refreshAfterMs: number;
  /** After a failed fetch with no usable keys, fail fast for this long. */
  retryAfterFailureMs: number;
  /** Clock in ms. */
  now: () => number;
  /** Called after a fetch changed the set, with the ids now present. */
  onKeysChanged?: ((ids: ReadonlySet<string>) => void) | undefined;
}

const MAX_JWKS_BYTES = 256 * 1024;

/**
 * Holds the verification keys of one JWKS: fetches it with the global `fetch`
 * (single-flight, bounded by `timeoutMs` and each waiting request's deadline),
 * refreshes it in the background before `maxAgeMs`, refetches for an unknown
 * `kid` at most once per `cooldownMs`, and keeps serving cached keys while the
 * server is down until they reach `maxAgeMs`.
 *
 * @example
 * ```ts
 * const store = new JwksKeyStore({ url, timeoutMs: 2_000, cooldownMs: 30_000, maxAgeMs: 600_000,
 *   refreshAfterMs: 300_000, retryAfterFailureMs: 2_000, now: Date.now });
 * const keys = await store.resolve('ES256', kid);
 * ```
 */
export class JwksKeyStore {
  private keys: Map<string, StoredKey> | undefined;
  private fetchedAt = -Infinity;
  private lastAttemptAt = -Infinity;
  private lastFailureAt = -Infinity;
  private inflight: Promise<void> | undefined;
  private readonly staticKeys: Promise<Map<string, StoredKey>> | undefined;
  /** Number of HTTP requests made, for tests and metrics. */
  fetchCount = 0;

  constructor(private readonly options: JwksKeyStoreOptions) {
    if (options.jwks !== undefined) {
      this.staticKeys = importKeySet(options.jwks);
      // Surfaced by resolve(); never an unhandled rejection.
      this.staticKeys.catch(() => undefined);
    }
  }

  /**
   * True when `id` is in the current, not-too-old key set (used to keep serving
   * cached tokens only while their key is still published).
   */
  has(id: string): boolean {
    if (this.staticKeys !== undefined) return this.keys?.has(id) ?? false;
    return this.keys !== undefined && this.options.now() - this.fetchedAt < this.options.maxAgeMs && this.keys.has(id);
  }

  /**
   * The keys that may verify a token with this `alg` and `kid`: the one with
   * that `kid`, or every key of that algorithm when the token has no `kid`.
   * An empty array means no key matches.
   *
   * @throws {@link JwksUnavailableError} when no usable key set can be obtained in time.
   */
  async resolve(alg: JwksAlgorithm, kid: string | undefined, signal?: AbortSignal): Promise<StoredKey[]> {
    if (this.staticKeys !== undefined) {
      this.keys ??= await this.staticKeys;
      return this.lookup(alg, kid);
    }
    const { now, maxAgeMs, refreshAfterMs, cooldownMs, retryAfterFailureMs } = this.options;
    const age = now() - this.fetchedAt;
    if (this.keys === undefined || age >= maxAgeMs) {
      if (this.keys !== undefined) this.replaceKeys(undefined);
      if (this.inflight === undefined && now() - this.lastFailureAt < retryAfterFailureMs) {
        throw new JwksUnavailableError('The signing keys are unavailable (the last fetch failed moments ago)');
      }
      await this.waitForRefresh(signal);
    } else if (age >= refreshAfterMs && this.inflight === undefined && now() - this.lastAttemptAt >= retryAfterFailureMs) {
      // Stale-while-revalidate: the request goes on with the cached keys.
      this.refresh().catch(() => undefined);
    }
    let found = this.lookup(alg, kid);
    if (found.length === 0 && kid !== undefined && (this.inflight !== undefined || now() - this.lastAttemptAt >= cooldownMs)) {
      await this.waitForRefresh(signal);
      found = this.lookup(alg, kid);
    }
    return found;
  }

  private lookup(alg: JwksAlgorithm, kid: string | undefined): StoredKey[] {
    const keys = this.keys;
    if (keys === undefined) return [];
    if (kid !== undefined) {
      const key = keys.get(kid);
      return key !== undefined && key.alg === alg ? [key] : [];
    }
    return [...keys.values()].filter((key) => key.alg === alg);
  }

  /** Joins (or starts) the shared fetch, waiting no longer than this request's budget. */
  private async waitForRefresh(signal: AbortSignal | undefined): Promise<void> {
    let budget;
    try {
      budget = resolveBudget(this.options.timeoutMs, 'jwks.fetch');
    } catch (cause) {
      throw new JwksUnavailableError('No time left in the deadline to fetch the signing keys', { cause });
    }
    const shared = this.inflight ?? this.refresh();
    const signals = [signal, budget.signal].filter((s): s is AbortSignal => s !== undefined);
    let timer: NodeJS.Timeout | undefined;
    const cleanups: Array<() => void> = [];
    try {
      await Promise.race([
        shared,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new JwksUnavailableError(`The signing keys could not be fetched within ${Math.round(budget.ms)} ms`)), budget.ms);
          timer.unref();
          for (const s of signals) {
            const onAbort = (): void => reject(new JwksUnavailableError('The signing key fetch was abandoned', { cause: abortError(s, 'jwks.fetch') }));
            if (s.aborted) onAbort();
            s.addEventListener('abort', onAbort, { once: true });
            cleanups.push(() => s.removeEventListener('abort', onAbort));
          }
        }),
      ]);
    } finally {
      clearTimeout(timer);
      for (const cleanup of cleanups) cleanup();
    }
  }

  private refresh(): Promise<void> {
    const run = traceCall(tracing.jwks, { operation: 'fetch' }, () => this.fetchKeys()).finally(() => {
      this.inflight = undefined;
    });
    this.inflight = run;
    // Waiters observe the rejection; a background refresh must not be unhandled.
    run.catch(() => undefined);
    return run;
  }

  private async fetchKeys(): Promise<void> {
    const { url, timeoutMs, now } = this.options;
    this.lastAttemptAt = now();
    this.fetchCount++;
    // The fetch is shared by every waiting request, so it has its own limit rather than
    // the first caller's deadline; each waiter is bounded by its own budget in waitForRefresh.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    timer.unref();
    try {
      const response = await fetch(url as string, { signal: controller.signal, headers: { accept: 'application/json' } });
      if (!response.ok) {
        await response.body?.cancel();
        throw new JwksUnavailableError(`The JWKS endpoint answered HTTP ${response.status}`);
      }
      const declared = Number(response.headers.get('content-length') ?? 0);
      if (declared > MAX_JWKS_BYTES) {
        await response.body?.cancel();
        throw new JwksUnavailableError('The JWKS response is too large');
      }
      const text = await response.text();
      if (text.length > MAX_JWKS_BYTES) throw new JwksUnavailableError('The JWKS response is too large');
      const keys = await importKeySet(JSON.parse(text) as JsonWebKeySet);
      this.fetchedAt = now();
      this.lastFailureAt = -Infinity;
      this.replaceKeys(keys);
    } catch (err) {
      this.lastFailureAt = now();
      if (isSupaguardError(err)) throw err;
      throw new JwksUnavailableError('The signing keys could not be fetched', { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  private replaceKeys(keys: Map<string, StoredKey> | undefined): void {
    const before = this.keys;
    this.keys = keys;
    const changed = before === undefined || keys === undefined || before.size !== keys.size || [...before.keys()].some((id) => !keys.has(id));
    if (changed) this.options.onKeysChanged?.(new Set(keys?.keys() ?? []));
  }
}

/**
 * Imports the usable signature keys of a set: EC P-256 (ES256) and RSA (RS256)
 * public keys whose `use` / `key_ops` / `alg` allow verification. Anything else
 * (private members, encryption keys, other curves) is skipped, not trusted.
 *
 * @throws {@link JwksUnavailableError} when the document is not a key set.
 */
export async function importKeySet(jwks: JsonWebKeySet): Promise<Map<string, StoredKey>> {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) {
    throw new JwksUnavailableError('The JWKS document has no "keys" array');
  }
  const result = new Map<string, StoredKey>();
  for (const jwk of jwks.keys.slice(0, 100)) {
    if (typeof jwk !== 'object' || jwk === null) continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) continue;
    let alg: JwksAlgorithm;
    let publicJwk: JWK;
    if (jwk.kty === 'EC' && jwk.crv === 'P-256') {
      alg = 'ES256';
      publicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
    } else if (jwk.kty === 'RSA') {
      alg = 'RS256';
      publicJwk = { kty: 'RSA', n: jwk.n, e: jwk.e };
    } else continue;
    if (jwk.alg !== undefined && jwk.alg !== alg) continue;
    const id = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : fingerprint(JSON.stringify(publicJwk));
    try {
      const key = await importJWK(publicJwk, alg);
      // The same floor jose applies when it verifies: RSA keys below 2048 bits are not trusted.
      const modulusLength = (key as { algorithm?: { modulusLength?: number } }).algorithm?.modulusLength;
      if (alg === 'RS256' && !(typeof modulusLength === 'number' && modulusLength >= 2048)) continue;
      result.set(id, { id, alg, key });
    } catch {
      // A key that does not import is not usable; the others still are.
    }
  }
  return result;
}
