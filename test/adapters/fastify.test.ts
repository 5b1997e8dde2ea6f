import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, createAuditLog, type AuditRecord } from '../../src/index.js';
import { HTTP_STATUS_BY_CODE, supaguard } from '../../src/fastify.js';
import { REDIS_URL, requireService } from '../helpers/services.js';
import { LEAKY, MemoryAuthorization, errorForEveryCode, makeTokens, newId } from './fixtures.js';

const errors = errorForEveryCode();
const redisAvailable = await requireService('redis');

interface Reply {
  status: number;
  headers: Record<string, string | undefined>;
  text: string;
  body: Record<string, unknown> | undefined;
}

async function buildApp(tokens: Awaited<ReturnType<typeof makeTokens>>, authz: MemoryAuthorization, auditSink: AuditRecord[]): Promise<FastifyInstance> {
  const app = Fastify();
  const auditLog = createAuditLog({ sink: { write: async (b) => void auditSink.push(...b) }, batchSize: 100, flushMs: 60_000 });
  await app.register(supaguard, { verifier: tokens.verifier, authorization: authz, auditLog, deadlineMs: 1_000 });
  const byId = { resource: (req: { params: unknown }) => (req.params as { id: string }).id };
  app.get('/healthz', { config: { supaguard: { public: true } } }, async () => ({ ok: true }));
  app.get('/throw/:code', { config: { supaguard: { public: true } } }, async (req) => {
    throw errors[(req.params as { code: keyof typeof errors }).code] ?? new Error('plain');
  });
  app.get('/me', async (req) => ({ userId: req.auth?.userId, keys: Object.keys(req.auth ?? {}), json: JSON.stringify(req.auth) }));
  app.get('/optional', { config: { supaguard: { optional: true } } }, async (req) => ({ auth: req.auth }));
  app.get('/projects/:id', { config: { supaguard: { authorize: { ...byId, action: 'project.read' } } } }, async (req) => {
    const id = (req.params as { id: string }).id;
    // Same check as the route config: answered from the per-request memo.
    await app.supaguard.authorize(req, { resourceId: id, action: 'project.read' });
    return { id };
  });
  app.get('/check/:id', async (req) => app.supaguard.check(req, { resourceId: (req.params as { id: string }).id, action: 'project.read' }));
  app.get('/slow-authz/:id', { config: { supaguard: { deadlineMs: 80, authorize: { ...byId, action: 'slow' } } } }, async () => ({}));
  app.get('/no-resource', { config: { supaguard: { authorize: { resource: () => undefined, action: 'x' } } } }, async () => ({}));
  app.get('/limited', { config: { supaguard: { rateLimit: { points: 2, durationMs: 60_000 } } } }, async () => ({ ok: true }));
  return app;
}

describe.each(['inject', 'listen'] as const)('supaguard/fastify plugin (%s)', (mode) => {
  let app: FastifyInstance;
  let base = '';
  let tokens: Awaited<ReturnType<typeof makeTokens>>;
  const authz = new MemoryAuthorization();
  const audited: AuditRecord[] = [];
  const user = newId();
  const project = newId();

  beforeAll(async () => {
    tokens = await makeTokens();
    authz.grant(user, project, 'project.read');
    app = await buildApp(tokens, authz, audited);
    if (mode === 'listen') base = await app.listen({ port: 0, host: '127.0.0.1' });
    else await app.ready();
  });
  afterAll(() => app.close());

  const get = async (url: string, headers: Record<string, string> = {}): Promise<Reply> => {
    if (mode === 'inject') {
      const res = await app.inject({ method: 'GET', url, headers });
      const text = res.body;
      return { status: res.statusCode, headers: res.headers as Record<string, string>, text, body: text.startsWith('{') ? JSON.parse(text) : undefined };
    }
    const res = await fetch(base + url, { headers });
    const text = await res.text();
    return { status: res.status, headers: Object.fromEntries(res.headers), text, body: text.startsWith('{') ? JSON.parse(text) : undefined };
  };
  const bearer = async (sub = user) => ({ authorization: `Bearer ${await tokens.sign(sub)}` });

  it('public routes need no token', async () => {
    expect((await get('/healthz')).body).toEqual({ ok: true });
  });

  it('no token: 401 E_TOKEN_MISSING with WWW-Authenticate: Bearer, as problem+json', async () => {
    const r = await get('/me');
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer');
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ type: 'about:blank', status: 401, code: 'E_TOKEN_MISSING' });
  });

  it('a valid token sets request.auth; the token is non-enumerable and not serialised', async () => {
    const headers = await bearer();
    const r = await get('/me', headers);
    expect(r.body).toMatchObject({ userId: user, keys: ['userId', 'claims'] });
    expect(r.text).not.toContain(headers.authorization.slice(7));
  });

  it.each([
    ['expired', async () => `Bearer ${await tokens.sign(user, { expiresIn: Math.floor(Date.now() / 1000) - 60 })}`, 'E_TOKEN_EXPIRED'],
    ['bad signature', async () => `Bearer ${LEAKY}`, 'E_TOKEN_SIGNATURE'],
    ['two tokens', async () => 'Bearer a b', 'E_TOKEN_MALFORMED'],
    ['basic scheme', async () => 'Basic dXNlcjpwYXNz', 'E_TOKEN_MISSING'],
  ])('%s Authorization header → 401 with its code, token not echoed', async (_case, header, code) => {
    const r = await get('/me', { authorization: await header() });
    expect(r.status).toBe(401);
    expect(r.body?.code).toBe(code);
    expect(r.text).not.toContain(LEAKY);
  });

  it('optional auth: no token passes with auth null; a bad token is 401', async () => {
    expect((await get('/optional')).body).toEqual({ auth: null });
    expect((await get('/optional', { authorization: 'Bearer x' })).status).toBe(401);
  });

  it('route authorize: allow 200 with one check for route config + handler, deny 403, decisions audited', async () => {
    const before = authz.calls;
    expect((await get(`/projects/${project}`, await bearer())).status).toBe(200);
    expect(authz.calls - before).toBe(1);
    const denied = await get(`/projects/${newId()}`, await bearer());
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ code: 'E_FORBIDDEN' });
    await app.supaguard.auditLog?.close?.();
    expect(audited.map((e) => e.outcome)).toEqual(['allow', 'deny']);
  });

  it('fastify.supaguard.check answers in the handler', async () => {
    expect((await get(`/check/${project}`, await bearer())).body).toEqual({ allowed: true });
    expect((await get(`/check/${newId()}`, await bearer())).body).toMatchObject({ allowed: false });
  });

  it('route authorize: a missing resource id is 400 E_INVALID_ID', async () => {
    const r = await get('/no-resource', await bearer());
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'E_INVALID_ID' });
  });

  it('route deadline: a slow authorization answers 504 E_DEADLINE', async () => {
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

  it('route rate limit: RateLimit-* headers, then 429 with Retry-After', async () => {
    const headers = await bearer(newId());
    const first = await get('/limited', headers);
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-limit']).toBe('2');
    expect(first.headers['ratelimit-remaining']).toBe('1');
    await get('/limited', headers);
    const third = await get('/limited', headers);
    expect(third.status).toBe(429);
    expect(third.body?.code).toBe('E_RATE_LIMITED');
    expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it.each(Object.keys(HTTP_STATUS_BY_CODE))('error table: %s → its status as problem+json, nothing leaked', async (code) => {
    const r = await get(`/throw/${code}`);
    const status = HTTP_STATUS_BY_CODE[code as keyof typeof HTTP_STATUS_BY_CODE];
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ status, code });
    expect(r.text).not.toContain(LEAKY);
    expect(r.text).not.toMatch(/at .*\.(ts|js):\d+/);
    if (status >= 500) expect(r.body?.detail).toBeUndefined();
  });

  it("other errors go on to Fastify's default handler", async () => {
    const r = await get('/throw/not-a-code');
    expect(r.status).toBe(500);
    expect(r.headers['content-type']).not.toMatch(/problem/);
  });
});

describe('supaguard/fastify plugin lifecycle', () => {
  it('refuses to register without a verifier', async () => {
    const app = Fastify();
    await expect(app.register(supaguard, {} as never).ready()).rejects.toBeInstanceOf(ConfigurationError);
    await app.close();
  });

  it('errorHandler: false leaves error handling to the app', async () => {
    const tokens = await makeTokens();
    const app = Fastify();
    await app.register(supaguard, { verifier: tokens.verifier, errorHandler: false });
    const r = await app.inject({ url: '/nothing' });
    expect(r.statusCode).toBe(401);
    expect(r.headers['content-type']).not.toMatch(/problem/);
    await app.close();
  });

  it.skipIf(!redisAvailable)('onClose quits Redis subscribers, closes the authorization cache and flushes the audit log', async () => {
    const tokens = await makeTokens();
    const authz = new MemoryAuthorization();
    const written: AuditRecord[] = [];
    const auditLog = createAuditLog({ sink: { write: async (b) => void written.push(...b) }, flushMs: 60_000 });
    const subscriber = new Redis(REDIS_URL);
    await subscriber.subscribe(`supaguard-test-${newId()}`);
    const app = Fastify();
    await app.register(supaguard, { verifier: tokens.verifier, authorization: authz, auditLog, subscribers: [subscriber] });
    await app.ready();
    auditLog.log({ action: 'pending' });
    await app.close();
    // quit() has been sent and acknowledged; the socket closes right after.
    for (let i = 0; i < 100 && subscriber.status !== 'end'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(subscriber.status).toBe('end');
    expect(authz.closed).toBe(true);
    expect(written.map((e) => e.action)).toEqual(['pending']);
    expect(auditLog.stats().closed).toBe(true);
  });
});
