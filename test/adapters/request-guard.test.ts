// The adapters' per-request state and their synchronous fast path, with the real
// token verifier and the real authorization cache behind real HTTP requests.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RequestGuard, authenticateRequest, bearerCandidate, checkRequest, extractToken } from '../../src/adapters/request-guard.js';
import { authenticate, authorize, errorHandler } from '../../src/express.js';
import { supaguard } from '../../src/fastify.js';
import { createAccessTokenVerifier, createAuthorizationCache, deadlineSignal, memoryLayer, type AuthorizationRequest, type Decision } from '../../src/index.js';
import { makeKey, signToken, userClaims, type TestKey } from '../helpers/jwt.js';

const ISSUER = 'http://127.0.0.1/auth/v1';

/** The real verifier and cache, with counters on the calls that leave memory. */
function components(key: TestKey) {
  const real = createAccessTokenVerifier({ jwks: { keys: [key.publicJwk] }, issuer: ISSUER });
  const counts = { verify: 0, loaded: 0 };
  const verifier = {
    verify: (token: string, options?: { signal?: AbortSignal }) => {
      counts.verify++;
      return real.verify(token, options);
    },
    peek: (token: string) => real.peek(token),
  };
  const denied = new Set<string>();
  const authorization = createAuthorizationCache({
    layers: [memoryLayer({ max: 1_000 })],
    loader: async (requests: readonly AuthorizationRequest[]): Promise<Decision[]> => {
      counts.loaded += requests.length;
      return requests.map((r) => ({ allowed: !denied.has(r.resourceId) }));
    },
    ttlMs: 60_000,
  });
  return { verifier, authorization, counts, denied };
}

type Served = { url: string; close: () => Promise<unknown> };

async function fastifyApp(c: ReturnType<typeof components>): Promise<Served> {
  const app = Fastify();
  await app.register(supaguard, { verifier: c.verifier, authorization: c.authorization });
  app.get('/projects/:id', { config: { supaguard: { authorize: { resource: (r) => (r.params as { id: string }).id, action: 'read' } } } }, async (req) => ({
    userId: req.auth?.userId,
  }));
  return { url: await app.listen({ port: 0, host: '127.0.0.1' }), close: () => app.close() };
}

async function expressApp(c: ReturnType<typeof components>): Promise<Served> {
  const app = express();
  app.use(authenticate({ verifier: c.verifier }));
  app.get('/projects/:id', authorize({ authorization: c.authorization, resource: (r) => r.params.id, action: 'read' }), (req, res) => void res.json({ userId: req.auth?.userId }));
  app.use(errorHandler());
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe.each([
  ['fastify', fastifyApp],
  ['express', expressApp],
] as const)('%s: requests answered from the caches', (_name, start) => {
  let key: TestKey;
  let c: ReturnType<typeof components>;
  let served: Served;
  beforeAll(async () => {
    key = await makeKey('ES256');
    c = components(key);
    served = await start(c);
  });
  afterAll(() => served.close());

  const get = async (path: string, token: string) => {
    const r = await fetch(`${served.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it('a repeated token and decision are served without verify() or the loader', async () => {
    const claims = userClaims(ISSUER);
    const token = await signToken(key, claims);
    const project = randomUUID();
    expect(await get(`/projects/${project}`, token)).toEqual({ status: 200, body: { userId: claims.sub } });
    expect(c.counts).toMatchObject({ verify: 1, loaded: 1 });
    const hitsBefore = c.authorization.stats().hits;
    for (let i = 0; i < 3; i++) expect(await get(`/projects/${project}`, token)).toEqual({ status: 200, body: { userId: claims.sub } });
    expect(c.counts).toMatchObject({ verify: 1, loaded: 1 });
    // Answers from peek count as cache hits (stats, metrics), like check() hits.
    expect(c.authorization.stats().hits).toBe(hitsBefore + 3);
  });

  it('a cached deny is 403, an invalid id is 400, and an invalidated decision is loaded again', async () => {
    const token = await signToken(key, userClaims(ISSUER));
    const project = randomUUID();
    c.denied.add(project);
    const before = c.counts.loaded;
    expect((await get(`/projects/${project}`, token)).body).toMatchObject({ code: 'E_FORBIDDEN', status: 403 });
    expect((await get(`/projects/${project}`, token)).body).toMatchObject({ code: 'E_FORBIDDEN', status: 403 });
    expect(c.counts.loaded).toBe(before + 1);
    expect(await get('/projects/not-a-uuid', token)).toMatchObject({ status: 400, body: { code: 'E_INVALID_ID' } });
    c.denied.delete(project);
    await c.authorization.invalidate({ resourceId: project });
    expect((await get(`/projects/${project}`, token)).status).toBe(200);
    expect(c.counts.loaded).toBe(before + 2);
  });

  it('a bad token is still 401 and is never cached as good', async () => {
    const token = await signToken(key, userClaims(ISSUER));
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${Buffer.alloc(64).toString('base64url')}`;
    for (let i = 0; i < 2; i++) expect(await get(`/projects/${randomUUID()}`, forged)).toMatchObject({ status: 401, body: { code: 'E_TOKEN_SIGNATURE' } });
  });
});

describe.each([
  ['Express 5', express],
  ['Express 4', express4 as unknown as typeof express],
] as const)('%s: req.auth without an own property on req', (_name, makeApp) => {
  it('reads the caller in the app, in a mounted sub-app and after a user write; a plain node:http request gets an own property', async () => {
    const key = await makeKey('ES256');
    const c = components(key);
    const claims = userClaims(ISSUER);
    const token = await signToken(key, claims);
    const app = makeApp();
    const sub = makeApp();
    sub.get('/who', (req, res) => void res.json({ userId: req.auth?.userId, own: Object.hasOwn(req, 'auth') }));
    // A value written before authenticate gives way to the verified caller.
    app.use((req, _res, next) => {
      if (req.path === '/who') req.auth = { userId: 'written-before', claims: { sub: 'written-before' }, token: 'x' };
      next();
    });
    app.use(authenticate({ verifier: c.verifier, optional: true }));
    app.use('/sub', sub);
    app.get('/who', (req, res) => void res.json({ userId: req.auth?.userId ?? req.auth, own: Object.hasOwn(req, 'auth') }));
    app.get('/overwrite', (req, res) => {
      req.auth = { userId: 'someone-else', claims: { sub: 'someone-else' }, token: 'x' };
      res.json({ userId: req.auth.userId });
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = async (path: string, headers: Record<string, string> = { authorization: `Bearer ${token}` }) => (await fetch(`${base}${path}`, { headers })).json();
    try {
      for (let i = 0; i < 2; i++) {
        // The first request verifies (asynchronous path), the second is answered from the cache (synchronous path).
        expect(await get('/who')).toEqual({ userId: claims.sub, own: false });
        expect(await get('/sub/who')).toEqual({ userId: claims.sub, own: false });
      }
      expect(await get('/who', {})).toEqual({ userId: null, own: false });
      expect(await get('/overwrite')).toEqual({ userId: 'someone-else' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }

    // Outside Express there is no shared request prototype to extend: the property is set on the request.
    const middleware = authenticate({ verifier: c.verifier });
    const plain = http.createServer((req, res) => {
      middleware(req as never, res as never, (err?: unknown) => {
        const auth = (req as { auth?: { userId: string } }).auth;
        res.end(JSON.stringify({ err: err === undefined ? null : String(err), userId: auth?.userId, own: Object.hasOwn(req, 'auth') }));
      });
    });
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    try {
      const r = await fetch(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`, { headers: { authorization: `Bearer ${token}` } });
      expect(await r.json()).toEqual({ err: null, userId: claims.sub, own: true });
      expect(Object.hasOwn(http.IncomingMessage.prototype, 'auth')).toBe(false);
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});

describe('fastify: the rate limit is bounded by the request deadline', () => {
  it('a Redis that never answers costs the request its deadline (504), not redisTimeoutMs', async () => {
    const key = await makeKey('ES256');
    const c = components(key);
    const hanging = { status: 'ready', evalsha: () => new Promise(() => undefined), eval: () => new Promise(() => undefined) };
    const app = Fastify();
    await app.register(supaguard, { verifier: c.verifier, authorization: c.authorization, redis: hanging, deadlineMs: 60 });
    app.get('/limited', { config: { supaguard: { rateLimit: { points: 5, durationMs: 60_000, redisTimeoutMs: 5_000 } } } }, async () => ({ ok: true }));
    const token = await signToken(key, userClaims(ISSUER));
    await c.verifier.verify(token);
    const started = performance.now();
    const r = await app.inject({ url: '/limited', headers: { authorization: `Bearer ${token}` } });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(r.statusCode).toBe(504);
    expect(r.json()).toMatchObject({ code: 'E_DEADLINE' });
    await app.close();
  });
});

describe('RequestGuard', () => {
  it('run() without a deadline scope: fn gets a signal that aborts at the request deadline, outside AsyncLocalStorage', async () => {
    const guard = new RequestGuard(40);
    let seen: AbortSignal | undefined;
    let ambient: AbortSignal | undefined = new AbortController().signal;
    const started = performance.now();
    const err = await guard
      .run('authorize', (signal) => {
        seen = signal;
        ambient = deadlineSignal();
        return new Promise<never>(() => undefined); // ignores its signal
      })
      .catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(err).toMatchObject({ code: 'E_DEADLINE' });
    expect(seen?.aborted).toBe(true);
    expect(ambient).toBeUndefined();
  });

  it('run(): a failure aborts the signal with the error; a spent budget fails without calling fn', async () => {
    const guard = new RequestGuard(1_000);
    let seen: AbortSignal | undefined;
    const boom = new Error('boom');
    await expect(
      guard.run('x', async (signal) => {
        seen = signal;
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(seen?.reason).toBe(boom);
    const spent = new RequestGuard(1_000);
    spent.deadlineAt = performance.now() - 1;
    let called = false;
    await expect(spent.run('x', async () => (called = true))).rejects.toMatchObject({ code: 'E_DEADLINE' });
    expect(called).toBe(false);
  });

  it('runScoped() enters an ambient deadline scope bounded by what is left', async () => {
    const guard = new RequestGuard(5_000);
    const signal = await guard.runScoped('handler', async () => deadlineSignal());
    expect(signal).toBeInstanceOf(AbortSignal);
  });

  it('checkRequest memoises per request, sync answers and pending ones alike', async () => {
    let peeks = 0;
    let checks = 0;
    const authorization = {
      peek: (q: { resourceId: string }) => (peeks++, q.resourceId === 'known' ? { allowed: true } : undefined),
      check: async () => (checks++, { allowed: false }),
    };
    const guard = new RequestGuard(1_000);
    guard.auth = { userId: 'u', claims: { sub: 'u' }, token: 't' };
    expect(checkRequest(guard, authorization, { resourceId: 'known', action: 'read' })).toEqual({ allowed: true });
    expect(checkRequest(guard, authorization, { resourceId: 'known', action: 'read' })).toEqual({ allowed: true });
    const pending = checkRequest(guard, authorization, { resourceId: 'other', action: 'read' });
    expect(checkRequest(guard, authorization, { resourceId: 'other', action: 'read' })).toBe(pending);
    expect(await pending).toEqual({ allowed: false });
    expect(checkRequest(guard, authorization, { resourceId: 'known', action: 'write' })).toEqual({ allowed: true });
    expect({ peeks, checks }).toEqual({ peeks: 3, checks: 1 });
  });

  it('authenticateRequest falls back to verify() when the verifier has no peek, and keeps the token off the enumerable fields', async () => {
    const guard = new RequestGuard(1_000);
    const auth = await authenticateRequest(guard, { authorization: 'Bearer abc' }, { verifier: { verify: async () => ({ sub: 'user-1' }) } });
    expect(auth).toMatchObject({ userId: 'user-1', token: 'abc' });
    expect(Object.keys(auth ?? {})).toEqual(['userId', 'claims']);
    expect(JSON.stringify(auth)).not.toContain('abc');
    expect(() => authenticateRequest(guard, {}, { verifier: { verify: async () => ({ sub: 'x' }) } })).toThrow(expect.objectContaining({ code: 'E_TOKEN_MISSING' }));
  });

  it('the cached-token fast path reads the Bearer header as the full parse does, or leaves it to the full parse', () => {
    const parse = (h: string): string | Error | undefined => {
      try {
        return extractToken(h, undefined, undefined);
      } catch (err) {
        return err as Error;
      }
    };
    const headers = fc.oneof(
      fc.tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'BeArEr', 'Basic', 'Bearerx', 'ſearer', 'Bearer\t'), fc.stringMatching(/^[ \t]{0,3}$/), fc.string({ unit: fc.constantFrom('a', '.', '-', '_', ' ', '\t', '\u00a0', '\u2028', 'Z', '9') }))
        .map(([scheme, gap, rest]) => `${scheme}${gap}${rest}`),
      fc.string(),
    );
    fc.assert(
      fc.property(headers, (h) => {
        const candidate = bearerCandidate(h);
        const parsed = parse(h);
        if (typeof parsed === 'string' && candidate !== undefined) expect(candidate).toBe(parsed);
        // Whatever the full parse refuses, the fast path offers only as a string with whitespace in it — never a cached token.
        if (typeof parsed !== 'string' && candidate !== undefined) expect(candidate).toMatch(/\s/);
      }),
      { numRuns: 5_000 },
    );
    expect(bearerCandidate('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerCandidate('bEaReR abc')).toBe('abc');
    expect([bearerCandidate('Bearer  abc'), bearerCandidate('Bearer abc '), bearerCandidate('Basic abc'), bearerCandidate(undefined), bearerCandidate(['Bearer abc'])]).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('a cached token followed by more than spaces is still 401 E_TOKEN_MALFORMED, with the real verifier', async () => {
    const key = await makeKey('ES256');
    const verifier = createAccessTokenVerifier({ jwks: { keys: [key.publicJwk] }, issuer: ISSUER });
    const token = await signToken(key, userClaims(ISSUER));
    const guard = () => new RequestGuard(1_000);
    expect(await authenticateRequest(guard(), { authorization: `Bearer ${token}` }, { verifier })).toMatchObject({ token });
    // Now cached: the fast path answers synchronously…
    expect(authenticateRequest(guard(), { authorization: `bearer ${token}` }, { verifier })).toMatchObject({ token });
    // …but only for exactly the token: these are refused by the full parse, never answered from the cache.
    for (const header of [`Bearer ${token}\tx`, `Bearer ${token} x`, `Bearer ${token}\u00a0`]) {
      expect(() => authenticateRequest(guard(), { authorization: header }, { verifier })).toThrow(expect.objectContaining({ code: 'E_TOKEN_MALFORMED' }));
    }
  });
});
