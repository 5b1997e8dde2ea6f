import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier, isAuthError, type AccessTokenVerifier } from '../../src/index.js';
import { ISSUER, SECRET, T0, badTokenCases, type BadTokenKeys } from '../helpers/bad-tokens.js';
import { makeKey, signRaw, signToken, startJwksServer, userClaims, type JwksServer, type TestKey } from '../helpers/jwt.js';

let es: TestKey;
let rs: TestKey;
let attacker: TestKey;
let sideServer: JwksServer;
let jwksOnly: AccessTokenVerifier;
let withSecret: AccessTokenVerifier;
const keys = {} as BadTokenKeys;
const cases = badTokenCases(keys);
const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => userClaims(ISSUER, overrides, T0);
const es256 = (payload: unknown, extra?: Record<string, unknown>): Promise<string> => signToken(es, payload, extra);

beforeAll(async () => {
  [es, rs, attacker] = await Promise.all([makeKey('ES256'), makeKey('RS256'), makeKey('ES256')]);
  sideServer = await startJwksServer([]);
  Object.assign(keys, { es, rs, attacker, sideUrl: sideServer.url });
  const base = { jwks: { keys: [es.publicJwk, rs.publicJwk] }, issuer: ISSUER, now: () => T0 * 1000 };
  jwksOnly = createAccessTokenVerifier(base);
  withSecret = createAccessTokenVerifier({ ...base, jwtSecret: SECRET });
});
afterAll(() => sideServer.stop());

describe('access-token verifier: bad inputs', () => {
  it('accepts the well-formed controls (ES256, RS256, HS256 with the secret)', async () => {
    const c = claims();
    expect((await jwksOnly.verify(await es256(c))).sub).toBe(c.sub);
    expect((await jwksOnly.verify(await signToken(rs, c))).sub).toBe(c.sub);
    const hs = await signRaw(JSON.stringify({ alg: 'HS256', typ: 'JWT' }), JSON.stringify(c), { alg: 'HS256', secret: SECRET });
    expect((await withSecret.verify(hs)).sub).toBe(c.sub);
    await expect(jwksOnly.verify(hs)).rejects.toMatchObject({ code: 'E_TOKEN_ALGORITHM' });
  });

  it.each(cases)('$name → $code', async ({ token, code, secret }) => {
    const verifier = secret ? withSecret : jwksOnly;
    const raw = (await token()) as string;
    const err = await verifier.verify(raw).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAuthError(err), String(err)).toBe(true);
    expect(err).toMatchObject({ code, status: 401 });
    // The token (or any segment of it) never appears in the error.
    for (const part of (raw ?? '').split('.').filter((p) => p.length >= 8)) expect((err as Error).message).not.toContain(part);
  });

  it('never fetched a jku / x5u URL', () => {
    expect(sideServer.otherRequests).toBe(0);
  });
});
