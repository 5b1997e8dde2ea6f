import { afterEach, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier, withDeadline, type AccessTokenVerifierOptions } from '../../src/index.js';
import { b64url, makeKey, signToken, startJwksServer, userClaims, type JwksServer } from '../helpers/jwt.js';

const servers: JwksServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop().catch(() => undefined)));
});

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let ms = Date.now();
  return { now: () => ms, advance: (d) => (ms += d) };
}

async function setup(options: Partial<AccessTokenVerifierOptions> = {}) {
  const keyA = await makeKey('ES256', 'key-a');
  const server = await startJwksServer([keyA.publicJwk]);
  servers.push(server);
  const clock = fakeClock();
  const verifier = createAccessTokenVerifier({ supabaseUrl: server.url, now: clock.now, jwksTimeoutMs: 2_000, ...options });
  const token = (key = keyA, overrides: Record<string, unknown> = {}) => signToken(key, userClaims(server.issuer, overrides, Math.floor(clock.now() / 1000)));
  return { keyA, server, clock, verifier, token };
}

const codeOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (err: { code?: string }) => err.code ?? String(err));

describe('access-token verifier against a JWKS server on loopback', () => {
  it('fetches the JWKS once for many concurrent first requests', async () => {
    const { server, verifier, token } = await setup();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => token()));
    const results = await Promise.all(tokens.map((t) => codeOf(verifier.verify(t))));
    expect(results.every((r) => r === 'ok')).toBe(true);
    expect(server.requests).toBe(1);
  });

  it('key rotation: the new kid is fetched, tokens of the removed kid are dropped from the cache', async () => {
    const { server, clock, verifier, token } = await setup();
    const oldToken = await token();
    const oldClaims = await verifier.verify(oldToken);
    expect(await verifier.verify(oldToken)).toBe(oldClaims); // cached

    const keyB = await makeKey('ES256', 'key-b');
    server.keys = [keyB.publicJwk];
    clock.advance(30_000); // past the unknown-kid cooldown
    const newToken = await token(keyB);
    expect(await codeOf(verifier.verify(newToken))).toBe('ok');
    expect(server.requests).toBe(2);

    expect(await codeOf(verifier.verify(oldToken))).toBe('E_TOKEN_SIGNATURE');
    expect(server.requests).toBe(2); // within the cooldown: no refetch for the old kid
  });

  it('server stopped: cached keys keep working until 10 minutes, then E_JWKS_UNAVAILABLE (503)', async () => {
    const { server, clock, verifier, token } = await setup();
    const cachedToken = await token();
    await verifier.verify(cachedToken);
    await server.stop();

    clock.advance(6 * 60_000); // stale (background refresh fails) but under the maximum age
    expect(await codeOf(verifier.verify(await token()))).toBe('ok');
    expect(await codeOf(verifier.verify(cachedToken))).toBe('ok');
    await new Promise((r) => setTimeout(r, 50)); // let the failed background refresh settle

    clock.advance(4 * 60_000); // exactly 10 minutes old
    const fresh = await token();
    const err = await verifier.verify(fresh).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_JWKS_UNAVAILABLE', status: 503 });
    expect(await codeOf(verifier.verify(cachedToken))).toBe('E_JWKS_UNAVAILABLE');
  });

  it('server failing (HTTP 503) at start: E_JWKS_UNAVAILABLE, and the failure is not cached as a success', async () => {
    const { server, clock, verifier, token } = await setup();
    server.failing = true;
    const t = await token();
    expect(await codeOf(verifier.verify(t))).toBe('E_JWKS_UNAVAILABLE');
    server.failing = false;
    clock.advance(2_000); // past the fail-fast window
    expect(await codeOf(verifier.verify(t))).toBe('ok');
  });

  it('slow server: bounded by the deadline', async () => {
    const { server, verifier, token } = await setup({ jwksTimeoutMs: 10_000 });
    server.delayMs = 3_000;
    const t = await token();
    const started = performance.now();
    let inner: Promise<string> | undefined;
    // The wrapper may settle first with E_DEADLINE; verify itself must give up at the deadline with an AuthError.
    await withDeadline(100, () => (inner = codeOf(verifier.verify(t)))).catch(() => undefined);
    expect(await inner).toBe('E_JWKS_UNAVAILABLE');
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it('slow server: bounded by jwksTimeoutMs without a deadline, and by the caller signal', async () => {
    const { server, verifier, token, clock } = await setup({ jwksTimeoutMs: 150 });
    server.delayMs = 3_000;
    const t = await token();
    let started = performance.now();
    expect(await codeOf(verifier.verify(t))).toBe('E_JWKS_UNAVAILABLE');
    expect(performance.now() - started).toBeLessThan(1_500);

    clock.advance(5_000);
    started = performance.now();
    expect(await codeOf(verifier.verify(t, { signal: AbortSignal.timeout(50) }))).toBe('E_JWKS_UNAVAILABLE');
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it('10,000 tokens with random kids: at most one JWKS request per cooldown', async () => {
    // A generous fetch limit: 10,000 synchronous parses can hold the event loop for seconds on a loaded CI box.
    const { server, clock, verifier, token } = await setup({ jwksTimeoutMs: 20_000 });
    const [h, p, s] = (await token()).split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const randomKid = (): string => `${b64url(JSON.stringify({ ...header, kid: crypto.randomUUID() }))}.${p}.${s}`;

    for (let round = 0; round < 2; round++) {
      const codes = await Promise.all(Array.from({ length: 10_000 }, () => codeOf(verifier.verify(randomKid()))));
      expect(new Set(codes)).toEqual(new Set(['E_TOKEN_SIGNATURE']));
      expect(server.requests).toBe(round + 1);
      clock.advance(30_000);
    }
    expect(verifier.jwksFetchCount).toBe(2);
  });

  it('jwksUrl + issuer instead of supabaseUrl', async () => {
    const { server, token } = await setup();
    const verifier = createAccessTokenVerifier({ jwksUrl: `${server.url}/auth/v1/.well-known/jwks.json`, issuer: server.issuer });
    expect(await codeOf(verifier.verify(await token()))).toBe('ok');
    expect(server.requests).toBe(1);
  });

  it('a JWKS document that is not a key set is E_JWKS_UNAVAILABLE; unusable keys are skipped', async () => {
    const { server, verifier, token, clock, keyA } = await setup();
    server.keys = 'not an array' as never;
    expect(await codeOf(verifier.verify(await token()))).toBe('E_JWKS_UNAVAILABLE');
    server.keys = [{ ...keyA.publicJwk, use: 'enc' }, { kty: 'oct', k: 'c2VjcmV0', kid: 'key-a' }, { ...keyA.publicJwk, kid: 'key-a2', alg: 'RS256' }];
    clock.advance(2_000);
    expect(await codeOf(verifier.verify(await token()))).toBe('E_TOKEN_SIGNATURE');
    expect(server.otherRequests).toBe(0);
  });

  it('an unknown kid that appears after the cooldown is accepted', async () => {
    const { server, clock, verifier, token } = await setup();
    await verifier.verify(await token());
    const keyC = await makeKey('RS256', 'key-c');
    const t = await token(keyC);
    expect(await codeOf(verifier.verify(t))).toBe('E_TOKEN_SIGNATURE'); // within the cooldown of the first fetch
    server.keys = [...server.keys, keyC.publicJwk];
    clock.advance(30_000);
    expect(await codeOf(verifier.verify(t))).toBe('ok');
  });
});
