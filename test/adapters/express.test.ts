import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express5 from 'express';
import type { RequestHandler } from 'express';
import express4 from 'express4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog, type AuditRecord } from '../../src/index.js';
import { HTTP_STATUS_BY_CODE, authenticate, authorize, deadline, errorHandler, rateLimit } from '../../src/express.js';
import { LEAKY, MemoryAuthorization, errorForEveryCode, makeTokens, newId } from './fixtures.js';

const errors = errorForEveryCode();

describe.each([
  ['Express 5', express5],
  ['Express 4', express4],
])('supaguard/express on %s (listening server)', (_name, express) => {
  let server: Server;
  let base: string;
  let tokens: Awaited<ReturnType<typeof makeTokens>>;
  const authz = new MemoryAuthorization();
  const user = newId();
  const project = newId();
  const audited: AuditRecord[] = [];
  const audit = createAuditLog({ sink: { write: async (b) => void audited.push(...b) }, batchSize: 1, flushMs: 5 });

  beforeAll(async () => {
    tokens = await makeTokens();
    authz.grant(user, project, 'project.read');
    const app = express();
    app.use(deadline(1_000));
    app.get('/healthz', (_req, res) => void res.json({ ok: true }));
    app.get('/throw/:code', (req, _res, next) => next(errors[req.params.code as keyof typeof errors] ?? new Error('plain')));
    app.get('/optional', authenticate({ verifier: tokens.verifier, optional: true }), (req, res) => void res.json({ auth: req.auth }));
    app.get('/cookie', authenticate({ verifier: tokens.verifier, cookie: 'sb-access-token' }), (req, res) => void res.json({ userId: req.auth?.userId }));
    app.get('/slow-handler', deadline(80), (_req, res) => void setTimeout(() => res.json({ late: true }), 300));
    const ownKeys: RequestHandler = (req, res) => void res.json(Object.keys(req).sort());
    app.get('/keys-before', ownKeys);
    app.use(authenticate({ verifier: tokens.verifier }));
    app.get('/keys-after', ownKeys);
    app.get('/me', (req, res) =>
      void res.json({ userId: req.auth?.userId, keys: Object.keys(req.auth ?? {}), json: JSON.stringify(req.auth), hasToken: typeof req.auth?.token === 'string' }),
    );
    const readProject = authorize({ authorization: authz, resource: (req) => req.params.id, action: 'project.read', auditLog: audit });
    // The same check twice (router and route level) is answered once per request.
    app.get('/projects/:id', readProject, readProject, (req, res) => void res.json({ id: req.params.id }));
    app.get('/slow-authz/:id', deadline(80), authorize({ authorization: authz, resource: (req) => req.params.id, action: 'slow' }), (_req, res) => void res.json({}));
    app.get('/no-resource', authorize({ authorization: authz, resource: () => undefined, action: 'x' }), (_req, res) => void res.json({}));
    app.get('/limited', rateLimit({ points: 2, durationMs: 60_000 }), (_req, res) => void res.json({ ok: true }));
    app.use(errorHandler());
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await audit.close();
  });

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(base + path, { headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  const bearer = async (sub = user) => ({ authorization: `Bearer ${await tokens.sign(sub)}` });

  it('no token: 401 E_TOKEN_MISSING with WWW-Authenticate: Bearer, as problem+json', async () => {
    const r = await get('/me');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'E_TOKEN_MISSING' });
  });

  it('a valid token sets req.auth; the raw token is non-enumerable and never serialised', async () => {
    const headers = await bearer();
    const r = await get('/me', headers);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ userId: user, keys: ['userId', 'claims'], hasToken: true });
    expect(r.text).not.toContain(headers.authorization.slice(7));
  });

  it('authenticate adds no enumerable property to req (its state is symbol-keyed or kept beside the request)', async () => {
    const headers = await bearer();
    const before = await get('/keys-before', headers);
    const after = await get('/keys-after', headers);
    expect(after.status).toBe(200);
    expect(JSON.parse(after.text)).toEqual(JSON.parse(before.text));
    expect(JSON.parse(after.text)).not.toContain('auth');
  });

  it.each([
    ['expired', async () => `Bearer ${await tokens.sign(user, { expiresIn: Math.floor(Date.now() / 1000) - 60 })}`, 'E_TOKEN_EXPIRED'],
    ['wrong audience', async () => `Bearer ${await tokens.sign(user, { aud: 'other' })}`, 'E_TOKEN_MALFORMED'],
    ['bad signature', async () => `Bearer ${LEAKY}`, 'E_TOKEN_SIGNATURE'],
    ['not a JWT', async () => 'Bearer not-a-jwt', 'E_TOKEN_MALFORMED'],
    ['two tokens', async () => 'Bearer a b', 'E_TOKEN_MALFORMED'],
    ['empty bearer', async () => 'Bearer ', 'E_TOKEN_MALFORMED'],
    ['basic scheme', async () => 'Basic dXNlcjpwYXNz', 'E_TOKEN_MISSING'],
  ])('%s Authorization header → 401 with its code, token not echoed', async (_case, header, code) => {
    const value = await header();
    const r = await get('/me', { authorization: value });
    expect(r.status).toBe(401);
    expect(r.body?.code).toBe(code);
    if (code !== 'E_TOKEN_MISSING') expect(r.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(r.text).not.toContain(LEAKY);
  });

  it('optional auth: no token passes with auth null, a bad token is still 401', async () => {
    expect((await get('/optional')).body).toEqual({ auth: null });
    expect((await get('/optional', { authorization: 'Bearer nope' })).status).toBe(401);
  });

  it('reads the token from the configured cookie', async () => {
    const token = await tokens.sign(user);
    const r = await get('/cookie', { cookie: `theme=dark; sb-access-token=${token}` });
    expect(r.body).toEqual({ userId: user });
  });

  it('authorize: allow 200, deny 403, one check per request for a repeated authorize, decisions audited', async () => {
    const before = authz.calls;
    expect((await get(`/projects/${project}`, await bearer())).status).toBe(200);
    expect(authz.calls - before).toBe(1);
    const denied = await get(`/projects/${newId()}`, await bearer());
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ code: 'E_FORBIDDEN', status: 403 });
    await audit.flush();
    expect(audited.slice(-2).map((e) => [e.userId, e.outcome])).toEqual([
      [user, 'allow'],
      [user, 'deny'],
    ]);
  });

  it('authorize: a missing resource id is 400 E_INVALID_ID, without asking the cache', async () => {
    const before = authz.calls;
    const r = await get('/no-resource', await bearer());
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'E_INVALID_ID', detail: 'Invalid identifier: resourceId' });
    expect(authz.calls).toBe(before);
  });

  it('deadline: a slow authorization answers 504 E_DEADLINE within the budget', async () => {
    authz.delayMs = 2_000;
    try {
      const started = performance.now();
      const r = await get(`/slow-authz/${project}`, await bearer());
      expect(r.status).toBe(504);
      expect(r.body?.code).toBe('E_DEADLINE');
      expect(performance.now() - started).toBeLessThan(1_500);
    } finally {
      authz.delayMs = 0;
    }
  });

  it('deadline: a slow handler gets 504, its late write does not break the server', async () => {
    const r = await get('/slow-handler');
    expect(r.status).toBe(504);
    await new Promise((res) => setTimeout(res, 300));
    expect((await get('/healthz')).status).toBe(200);
  });

  it('rateLimit (in-memory): RateLimit-* headers, then 429 with Retry-After', async () => {
    const headers = await bearer(newId());
    const first = await get('/limited', headers);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-limit')).toBe('2');
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    expect(first.headers.get('ratelimit-policy')).toBe('2;w=60');
    expect((await get('/limited', headers)).status).toBe(200);
    const third = await get('/limited', headers);
    expect(third.status).toBe(429);
    expect(third.body?.code).toBe('E_RATE_LIMITED');
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(third.headers.get('ratelimit-remaining')).toBe('0');
    // Another user has their own counter.
    expect((await get('/limited', await bearer(newId()))).status).toBe(200);
  });

  it.each(Object.keys(HTTP_STATUS_BY_CODE))('error table: %s → its status as problem+json, nothing leaked', async (code) => {
    const r = await get(`/throw/${code}`);
    const status = HTTP_STATUS_BY_CODE[code as keyof typeof HTTP_STATUS_BY_CODE];
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ status, code });
    expect(r.text).not.toContain(LEAKY);
    expect(r.text).not.toMatch(/at .*\.(ts|js):\d+/);
    if (status >= 500) expect(r.body?.detail).toBeUndefined();
    if (status === 429 || code === 'E_CIRCUIT_OPEN') expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it("other errors go on to Express's own handler", async () => {
    const r = await get('/throw/not-a-code');
    expect(r.status).toBe(500);
    expect(r.headers.get('content-type')).not.toMatch(/problem/);
  });
});
