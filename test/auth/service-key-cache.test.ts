import { describe, expect, it } from 'vitest';
import { createServiceKeyCache, isConfigurationError } from '../../src/index.js';
import { signRaw } from '../helpers/jwt.js';

const REF = 'abcdefghijklmnopqrst';
const URL_ = `https://${REF}.supabase.co`;
const SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';
const T0 = 1_900_000_000;
const SECRET_A = `sb_secret_${'A'.repeat(31)}`;
const SECRET_B = `sb_secret_${'B'.repeat(31)}`;

const legacy = (claims: Record<string, unknown>, secret = SECRET, alg = 'HS256'): Promise<string> =>
  signRaw(JSON.stringify({ alg, typ: 'JWT' }), JSON.stringify({ iss: 'supabase', ref: REF, role: 'service_role', iat: T0 - 100, exp: T0 + 3600, ...claims }), {
    alg: 'HS256',
    secret: new TextEncoder().encode(secret),
  });

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let ms = T0 * 1000;
  return { now: () => ms, advance: (d) => (ms += d) };
}

describe('createServiceKeyCache: opaque keys', () => {
  it('accepts a configured sb_secret_ key (single key) and refuses others', async () => {
    const keys = createServiceKeyCache({ secretKeys: SECRET_A });
    expect(await keys.validate(SECRET_A)).toEqual({ valid: true, kind: 'secret' });
    expect(await keys.validate(SECRET_B)).toEqual({ valid: false, reason: 'unknown-secret-key', keyPrefix: 'sb_sec' });
    expect(await keys.validate(`${SECRET_A}x`)).toMatchObject({ valid: false, reason: 'unknown-secret-key' });
  });

  it('accepts keys from a SUPABASE_SECRET_KEYS JSON map and reports the name', async () => {
    const keys = createServiceKeyCache({ secretKeys: JSON.stringify({ default: SECRET_A, worker: SECRET_B }) });
    expect(await keys.validate(SECRET_B)).toEqual({ valid: true, kind: 'secret', name: 'worker' });
    expect(await createServiceKeyCache({ secretKeys: { ci: SECRET_A } }).validate(SECRET_A)).toEqual({ valid: true, kind: 'secret', name: 'ci' });
  });

  it('never accepts a publishable key, an empty or a non-string key, or a secret key when none is configured', async () => {
    const keys = createServiceKeyCache({ secretKeys: SECRET_A });
    expect(await keys.validate(`sb_publishable_${'A'.repeat(31)}`)).toMatchObject({ valid: false, reason: 'publishable-key' });
    expect(await keys.validate('')).toMatchObject({ valid: false, reason: 'missing' });
    expect(await keys.validate(undefined)).toMatchObject({ valid: false, reason: 'missing' });
    expect(await keys.validate({ toString: () => SECRET_A })).toMatchObject({ valid: false, reason: 'missing' });
    expect(await keys.validate('garbage')).toMatchObject({ valid: false, reason: 'malformed' });
    expect(await keys.validate(`sb_secret_${'A'.repeat(100_000)}`)).toEqual({ valid: false, reason: 'malformed', keyPrefix: 'sb_sec' });
    expect(await createServiceKeyCache().validate(SECRET_A)).toMatchObject({ valid: false, reason: 'unknown-secret-key' });
  });

  it('never exposes more than 6 characters of the key', async () => {
    const keys = createServiceKeyCache({ secretKeys: SECRET_A });
    const results = await Promise.all([SECRET_B, `sb_publishable_${'C'.repeat(31)}`, 'x'.repeat(50), await legacy({ role: 'anon' })].map((k) => keys.validate(k)));
    for (const r of results) {
      expect(r.valid).toBe(false);
      expect(JSON.stringify(r).length).toBeLessThan(80);
      if (!r.valid) expect(r.keyPrefix.length).toBeLessThanOrEqual(6);
    }
  });

  it('refuses bad configuration without echoing it', () => {
    for (const secretKeys of ['{not json', '["sb_secret_x"]', JSON.stringify({ a: 'sb_publishable_xxxxxxxxxxxxxxxx' }), 'plain-text-key']) {
      let caught: unknown;
      try {
        createServiceKeyCache({ secretKeys });
      } catch (err) {
        caught = err;
      }
      expect(isConfigurationError(caught)).toBe(true);
      expect((caught as Error).message).not.toContain('sb_publishable_xxxx');
      expect((caught as Error).message).not.toContain('plain-text-key');
    }
  });
});

describe('createServiceKeyCache: legacy service_role JWTs', () => {
  const cache = (extra: Parameters<typeof createServiceKeyCache>[0] = {}) => createServiceKeyCache({ supabaseUrl: URL_, now: () => T0 * 1000, ...extra });

  it('accepts a service_role key of this project; verifies HS256 when the secret is configured', async () => {
    const key = await legacy({});
    expect(await cache().validate(key)).toEqual({ valid: true, kind: 'legacy-jwt', projectRef: REF, signatureVerified: false });
    expect(await cache({ jwtSecret: SECRET }).validate(key)).toEqual({ valid: true, kind: 'legacy-jwt', projectRef: REF, signatureVerified: true });
    const forged = await legacy({}, 'another-secret-that-is-at-least-32-characters');
    expect(await cache({ jwtSecret: SECRET }).validate(forged)).toMatchObject({ valid: false, reason: 'signature' });
  });

  it.each([
    ['anon role', { role: 'anon' }, 'not-service-role'],
    ['authenticated role', { role: 'authenticated' }, 'not-service-role'],
    ['another project', { ref: 'zzzzzzzzzzzzzzzzzzzz' }, 'wrong-project'],
    ['no ref', { ref: undefined }, 'claims'],
    ['demo issuer', { iss: 'supabase-demo', ref: undefined }, 'demo-key'],
    ['no iss', { iss: undefined }, 'claims'],
    ['expired', { exp: T0 - 1 }, 'expired'],
    ['exp equal to now', { exp: T0 }, 'expired'],
    ['exp a string', { exp: String(T0 + 10) }, 'claims'],
  ] as const)('%s → %s', async (_name, claims, reason) => {
    expect(await cache().validate(await legacy(claims))).toMatchObject({ valid: false, reason });
  });

  it('refuses a non-HS256 alg and a malformed JWT', async () => {
    expect(await cache().validate(await legacy({}, SECRET, 'none'))).toMatchObject({ valid: false, reason: 'algorithm' });
    expect(await cache().validate('eyJhbGciOiJIUzI1NiJ9.e30')).toMatchObject({ valid: false, reason: 'malformed' });
  });

  it('accepts supabase-demo keys only with allowDemoKeys', async () => {
    const demo = await legacy({ iss: 'supabase-demo', ref: undefined });
    expect(await cache({ allowDemoKeys: true }).validate(demo)).toEqual({ valid: true, kind: 'legacy-jwt', signatureVerified: false });
  });

  it('without a project ref in the URL, a hosted key is refused unless projectRef is given', async () => {
    const key = await legacy({});
    expect(await createServiceKeyCache({ supabaseUrl: 'http://127.0.0.1:54321', now: () => T0 * 1000 }).validate(key)).toMatchObject({ reason: 'wrong-project' });
    expect(await createServiceKeyCache({ supabaseUrl: 'http://127.0.0.1:54321', projectRef: REF, now: () => T0 * 1000 }).validate(key)).toMatchObject({ valid: true });
  });
});

describe('createServiceKeyCache: caching', () => {
  it('caches valid results for ttlMs (capped by exp) and invalid ones for negativeTtlMs', async () => {
    const clock = fakeClock();
    const keys = createServiceKeyCache({ supabaseUrl: URL_, secretKeys: SECRET_A, now: clock.now, ttlMs: 60_000, negativeTtlMs: 1_000 });
    const first = await keys.validate(SECRET_A);
    expect(await keys.validate(SECRET_A)).toBe(first);
    clock.advance(60_000);
    const again = await keys.validate(SECRET_A);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);

    const bad = await keys.validate(SECRET_B);
    expect(await keys.validate(SECRET_B)).toBe(bad);
    clock.advance(1_000);
    expect(await keys.validate(SECRET_B)).not.toBe(bad);

    const shortLived = await legacy({ exp: T0 + 60 + 5 }); // 4 s left at this point of the fake clock
    const ok = await keys.validate(shortLived);
    expect(ok.valid).toBe(true);
    clock.advance(5_000);
    expect(await keys.validate(shortLived)).toMatchObject({ valid: false, reason: 'expired' });
  });

  it('concurrent validations of one key share one computation', async () => {
    const keys = createServiceKeyCache({ supabaseUrl: URL_, jwtSecret: SECRET, now: () => T0 * 1000 });
    const key = await legacy({});
    const results = await Promise.all(Array.from({ length: 50 }, () => keys.validate(key)));
    expect(new Set(results).size).toBe(1);
    expect(results[0]).toMatchObject({ valid: true, signatureVerified: true });
  });
});
