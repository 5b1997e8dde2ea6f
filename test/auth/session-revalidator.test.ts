import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier, type AccessTokenVerifier, type RevalidateOptions, type SessionRevalidationClient } from '../../src/index.js';
import { makeKey, signToken, userClaims, type TestKey } from '../helpers/jwt.js';

const T0 = 1_900_000_000;
const ISSUER = 'https://abcdefghijklmnopqrst.supabase.co/auth/v1';

type Answer = 'ok' | 'revoked' | 'other-user' | 'down' | 'throw' | 'hang';

/** A stand-in for SupabaseClient: only auth.getUser, answering what the test says. */
function fakeClient(answer: () => Answer): SessionRevalidationClient & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    auth: {
      async getUser(jwt?: string) {
        calls.push(jwt ?? '');
        const sub = JSON.parse(Buffer.from((jwt ?? '').split('.')[1] ?? '', 'base64url').toString()).sub as string;
        switch (answer()) {
          case 'ok':
            return { data: { user: { id: sub } }, error: null };
          case 'other-user':
            return { data: { user: { id: '00000000-0000-4000-8000-000000000000' } }, error: null };
          case 'revoked':
            return { data: { user: null }, error: { status: 403, message: 'session_not_found' } };
          case 'down':
            return { data: { user: null }, error: { status: 503, message: 'unavailable' } };
          case 'throw':
            throw new Error('ECONNREFUSED');
          case 'hang':
            return new Promise(() => undefined);
        }
      },
    },
  };
}

let es: TestKey;
const verifiers: AccessTokenVerifier[] = [];
beforeAll(async () => {
  es = await makeKey('ES256');
});
afterEach(() => {
  for (const v of verifiers.splice(0)) v.dispose();
});

function setup(answer: () => Answer, revalidate: Partial<RevalidateOptions> = {}) {
  let ms = T0 * 1000;
  const client = fakeClient(answer);
  const verifier = createAccessTokenVerifier({
    jwks: { keys: [es.publicJwk] },
    issuer: ISSUER,
    now: () => ms,
    revalidate: { client, everyMs: 60_000, timeoutMs: 200, ...revalidate },
  });
  verifiers.push(verifier);
  const token = (overrides: Record<string, unknown> = {}) => signToken(es, userClaims(ISSUER, overrides, T0));
  return { client, verifier, token, advance: (d: number) => (ms += d) };
}

const codeOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (err: { code?: string }) => err.code ?? String(err));

describe('revalidate', () => {
  it('confirms each session at most once per everyMs; concurrent calls share one getUser', async () => {
    const { client, verifier, token, advance } = setup(() => 'ok');
    const t = await token();
    const results = await Promise.all(Array.from({ length: 20 }, () => codeOf(verifier.verify(t))));
    expect(results.every((r) => r === 'ok')).toBe(true);
    expect(client.calls).toHaveLength(1);
    // Another token of the same session (e.g. refreshed) shares the confirmation.
    const sameSession = await token({ session_id: userClaims(ISSUER).session_id });
    await verifier.verify(sameSession);
    expect(client.calls).toHaveLength(2);
    advance(59_999);
    await verifier.verify(t);
    expect(client.calls).toHaveLength(2);
    advance(1);
    await verifier.verify(t);
    expect(client.calls).toHaveLength(3);
  });

  it('a revoked session is rejected with E_TOKEN_EXPIRED, remembered for everyMs', async () => {
    const { client, verifier, token } = setup(() => 'revoked');
    const t = await token();
    expect(await codeOf(verifier.verify(t))).toBe('E_TOKEN_EXPIRED');
    expect(await codeOf(verifier.verify(t))).toBe('E_TOKEN_EXPIRED');
    expect(client.calls).toHaveLength(1);
  });

  it('peek answers only for a session confirmed within everyMs, never for a refused one', async () => {
    const ok = setup(() => 'ok');
    const t = await ok.token();
    expect(ok.verifier.peek(t)).toBeUndefined();
    const claims = await ok.verifier.verify(t);
    expect(ok.verifier.peek(t)).toBe(claims);
    ok.advance(60_000);
    // The cache still holds the token, but the session is due for confirmation: verify() must run.
    expect(ok.verifier.peek(t)).toBeUndefined();
    const again = await ok.verifier.verify(t);
    expect(ok.verifier.peek(t)).toBe(again);
    expect(again).toEqual(claims);

    const revoked = setup(() => 'revoked');
    const r = await revoked.token();
    expect(await codeOf(revoked.verifier.verify(r))).toBe('E_TOKEN_EXPIRED');
    expect(revoked.verifier.peek(r)).toBeUndefined();
  });

  it('a session of another user is rejected with E_TOKEN_CLAIMS', async () => {
    const { verifier, token } = setup(() => 'other-user');
    expect(await codeOf(verifier.verify(await token()))).toBe('E_TOKEN_CLAIMS');
  });

  it.each(['down', 'throw', 'hang'] as const)('auth server %s: fails closed with E_JWKS_UNAVAILABLE (503) by default', async (answer) => {
    const { verifier, token } = setup(() => answer);
    const started = performance.now();
    const err = await verifier.verify(await token()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_JWKS_UNAVAILABLE', status: 503 });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("whenUnavailable: 'fail-open' accepts the locally verified token during an outage, never a revoked one", async () => {
    let answer: Answer = 'hang';
    const { verifier, token } = setup(() => answer, { whenUnavailable: 'fail-open' });
    const t = await token();
    expect(await codeOf(verifier.verify(t))).toBe('ok');
    answer = 'revoked';
    expect(await codeOf(verifier.verify(t))).toBe('E_TOKEN_EXPIRED');
  });

  it('the circuit opens after repeated outages and stops calling the auth server; refusals never open it', async () => {
    let answer: Answer = 'revoked';
    const { client, verifier, token } = setup(() => answer, { breaker: { volumeThreshold: 3, resetTimeoutMs: 60_000 } });
    for (let i = 0; i < 10; i++) expect(await codeOf(verifier.verify(await token()))).toBe('E_TOKEN_EXPIRED');
    expect(client.calls).toHaveLength(10); // refusals kept the circuit closed
    answer = 'down';
    for (let i = 0; i < 12; i++) expect(await codeOf(verifier.verify(await token()))).toBe('E_JWKS_UNAVAILABLE');
    const before = client.calls.length;
    expect(before).toBeLessThan(22); // the circuit opened during the outage
    for (let i = 0; i < 5; i++) expect(await codeOf(verifier.verify(await token()))).toBe('E_JWKS_UNAVAILABLE');
    expect(client.calls.length).toBe(before);
  });

  it('rejects a bad revalidate configuration', () => {
    expect(() => createAccessTokenVerifier({ jwks: { keys: [] }, issuer: ISSUER, revalidate: { client: {} as SessionRevalidationClient, everyMs: 1000 } })).toThrow(/revalidate.client/);
    expect(() => createAccessTokenVerifier({ jwks: { keys: [] }, issuer: ISSUER, revalidate: { client: fakeClient(() => 'ok'), everyMs: 0 } })).toThrow(/everyMs/);
  });
});
