import { generateKeyPairSync, sign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier, isConfigurationError } from '../../src/index.js';
import { b64url, makeKey, signRaw, signToken, userClaims, type TestKey } from '../helpers/jwt.js';

const T0 = 1_900_000_000;
const ISSUER = 'https://abcdefghijklmnopqrst.supabase.co/auth/v1';

let es: TestKey;
beforeAll(async () => {
  es = await makeKey('ES256');
});

function fakeClock(startSec = T0): { now: () => number; advance: (ms: number) => void } {
  let ms = startSec * 1000;
  return { now: () => ms, advance: (d) => (ms += d) };
}

describe('createAccessTokenVerifier', () => {
  it('returns the claims, deeply frozen, and serves repeats from the cache', async () => {
    const clock = fakeClock();
    const verifier = createAccessTokenVerifier({ jwks: { keys: [es.publicJwk] }, issuer: ISSUER, now: clock.now });
    const token = await signToken(es, userClaims(ISSUER, {}, T0));
    const claims = await verifier.verify(token);
    expect(claims).toMatchObject({ iss: ISSUER, aud: 'authenticated', role: 'authenticated', aal: 'aal1', email: 'user@example.com' });
    expect(Object.isFrozen(claims) && Object.isFrozen(claims.app_metadata)).toBe(true);
    expect(await verifier.verify(token)).toBe(claims);
  });

  it('derives the JWKS URL and issuer from supabaseUrl', async () => {
    const verifier = createAccessTokenVerifier({ supabaseUrl: 'https://abcdefghijklmnopqrst.supabase.co/', jwks: { keys: [es.publicJwk] } });
    const token = await signToken(es, userClaims(ISSUER));
    expect((await verifier.verify(token)).iss).toBe(ISSUER);
    await expect(verifier.verify(await signToken(es, userClaims('https://other.supabase.co/auth/v1')))).rejects.toMatchObject({ code: 'E_TOKEN_ISSUER' });
  });

  it('accepts an array aud containing the audience, and a custom audience', async () => {
    const verifier = createAccessTokenVerifier({ jwks: { keys: [es.publicJwk] }, issuer: ISSUER, audience: ['authenticated', 'mobile'] });
    expect((await verifier.verify(await signToken(es, userClaims(ISSUER, { aud: ['x', 'mobile'] })))).aud).toEqual(['x', 'mobile']);
    await expect(verifier.verify(await signToken(es, userClaims(ISSUER, { aud: [] })))).rejects.toMatchObject({ code: 'E_TOKEN_CLAIMS' });
  });

  it('a token without iat is not served from the cache once it has expired', async () => {
    const clock = fakeClock();
    const verifier = createAccessTokenVerifier({ jwks: { keys: [es.publicJwk] }, issuer: ISSUER, now: clock.now, cacheTtlMs: 3_600_000 });
    const token = await signToken(es, userClaims(ISSUER, { iat: undefined, exp: T0 + 2 }, T0));
    await expect(verifier.verify(token)).resolves.toMatchObject({ exp: T0 + 2 });
    clock.advance(1_999);
    await expect(verifier.verify(token)).resolves.toMatchObject({ exp: T0 + 2 });
    clock.advance(1);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'E_TOKEN_EXPIRED' });
    clock.advance(10_000);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'E_TOKEN_EXPIRED' });
  });

  it('cache entries live at most cacheTtlMs, then the token is verified again', async () => {
    const clock = fakeClock();
    const verifier = createAccessTokenVerifier({ jwks: { keys: [es.publicJwk] }, issuer: ISSUER, now: clock.now, cacheTtlMs: 1_000 });
    const token = await signToken(es, userClaims(ISSUER, {}, T0));
    const first = await verifier.verify(token);
    clock.advance(999);
    expect(await verifier.verify(token)).toBe(first);
    clock.advance(1);
    const second = await verifier.verify(token);
    expect(second).not.toBe(first);
    expect(second).toEqual(first);
  });

  it('peek answers synchronously from the cache only: never for an unverified, expired or bad token', async () => {
    const clock = fakeClock();
    const verifier = createAccessTokenVerifier({ jwks: { keys: [es.publicJwk] }, issuer: ISSUER, now: clock.now, cacheTtlMs: 1_000 });
    const token = await signToken(es, userClaims(ISSUER, {}, T0));
    expect(verifier.peek(token)).toBeUndefined();
    const claims = await verifier.verify(token);
    expect(verifier.peek(token)).toBe(claims);
    clock.advance(1_000);
    expect(verifier.peek(token)).toBeUndefined();
    for (const bad of ['', 'x', 'a.b.c', null, undefined, 42 as unknown as string, 'e'.repeat(10_000)]) expect(verifier.peek(bad)).toBeUndefined();
    // A token that failed verification is never answered by peek.
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${b64url(Buffer.alloc(64))}`;
    await expect(verifier.verify(forged)).rejects.toMatchObject({ code: 'E_TOKEN_SIGNATURE' });
    expect(verifier.peek(forged)).toBeUndefined();
    expect(createAccessTokenVerifier({ jwks: { keys: [es.publicJwk] }, issuer: ISSUER, cacheTtlMs: 0 }).peek(token)).toBeUndefined();
  });

  it('concurrent verifications of one token share one computation', async () => {
    const verifier = createAccessTokenVerifier({ jwks: { keys: [es.publicJwk] }, issuer: ISSUER, cacheTtlMs: 0 });
    const token = await signToken(es, userClaims(ISSUER));
    const results = await Promise.all(Array.from({ length: 50 }, () => verifier.verify(token)));
    expect(new Set(results).size).toBe(1);
    // With the cache disabled, a later call computes again (a new object).
    expect(await verifier.verify(token)).not.toBe(results[0]);
  });

  it('failures are not cached as successes, and a bad token never poisons a good one', async () => {
    const verifier = createAccessTokenVerifier({ jwks: { keys: [es.publicJwk] }, issuer: ISSUER });
    const good = await signToken(es, userClaims(ISSUER));
    const bad = `${good.slice(0, -2)}${good.endsWith('AA') ? 'BA' : 'AA'}`;
    await expect(verifier.verify(bad)).rejects.toMatchObject({ code: expect.stringMatching(/^E_TOKEN_(SIGNATURE|MALFORMED)$/) });
    await expect(verifier.verify(bad)).rejects.toMatchObject({ code: expect.stringMatching(/^E_TOKEN_(SIGNATURE|MALFORMED)$/) });
    await expect(verifier.verify(good)).resolves.toMatchObject({ iss: ISSUER });
  });

  it('HS256 tokens are checked only against the legacy secret', async () => {
    const secret = 'super-secret-jwt-token-with-at-least-32-characters-long';
    const verifier = createAccessTokenVerifier({ jwtSecret: secret, issuer: ISSUER });
    const claims = userClaims(ISSUER);
    const hs = await signRaw('{"alg":"HS256","typ":"JWT"}', JSON.stringify(claims), { alg: 'HS256', secret: new TextEncoder().encode(secret) });
    expect((await verifier.verify(hs)).sub).toBe(claims.sub);
    // No JWKS source: an ES256 token has no key material to be checked against.
    await expect(verifier.verify(await signToken(es, claims))).rejects.toMatchObject({ code: 'E_TOKEN_ALGORITHM' });
  });

  it('ignores RSA keys under 2048 bits in the JWKS', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = { ...weak.publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256' };
    const verifier = createAccessTokenVerifier({ jwks: { keys: [jwk] }, issuer: ISSUER });
    const input = `${b64url('{"alg":"RS256","kid":"weak"}')}.${b64url(JSON.stringify(userClaims(ISSUER)))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), weak.privateKey))}`;
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'E_TOKEN_SIGNATURE' });
  });

  it('algorithms narrows the allowlist', async () => {
    const verifier = createAccessTokenVerifier({ jwks: { keys: [es.publicJwk] }, issuer: ISSUER, algorithms: ['RS256'] });
    await expect(verifier.verify(await signToken(es, userClaims(ISSUER)))).rejects.toMatchObject({ code: 'E_TOKEN_ALGORITHM' });
  });

  it('reports bad configuration as E_CONFIG without echoing secrets', () => {
    const bad: Array<[Parameters<typeof createAccessTokenVerifier>[0], string]> = [
      [{}, 'options'],
      [{ jwks: { keys: [] } }, 'issuer'],
      [{ jwtSecret: 'short-secret', issuer: ISSUER }, 'jwtSecret'],
      [{ supabaseUrl: 'ftp://x' }, 'supabaseUrl'],
      [{ supabaseUrl: 'https://abcdefghijklmnopqrst.supabase.co', jwksMaxAgeMs: 3_600_000 }, 'jwksMaxAgeMs'],
      [{ supabaseUrl: 'https://abcdefghijklmnopqrst.supabase.co', algorithms: ['HS256'] }, 'algorithms'],
      [{ jwksUrl: 'https://x/jwks.json', jwks: { keys: [] }, issuer: ISSUER }, 'jwks'],
    ];
    for (const [options, field] of bad) {
      let caught: unknown;
      try {
        createAccessTokenVerifier(options);
      } catch (err) {
        caught = err;
      }
      expect(isConfigurationError(caught), field).toBe(true);
      expect(caught).toMatchObject({ field });
      expect(String((caught as Error).message)).not.toContain('short-secret');
    }
  });
});
