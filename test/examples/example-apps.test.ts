// The example apps' routes end to end, on the embedded default (PGlite, memory cache)
// and on real Postgres + Redis, through both frameworks on listening servers.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExpressApp } from '../../examples/express/app.js';
import { buildFastifyApp } from '../../examples/fastify/app.js';
import { createExampleContext, type ExampleContext } from '../../examples/shared/context.js';
import { SEED } from '../../examples/shared/seed-ids.js';
import { DATABASE_URL, REDIS_URL, requireService } from '../helpers/services.js';

const postgresUp = await requireService('postgres');
const redisUp = postgresUp && (await requireService('redis'));
const { users, teams, projects } = SEED;

type Send = (method: string, path: string, options?: { as?: string; body?: unknown }) => Promise<{ status: number; body: Record<string, unknown> | undefined }>;

async function startBoth(ctx: ExampleContext): Promise<{ bases: Record<string, string>; stop(): Promise<void> }> {
  const fastify = await buildFastifyApp(ctx);
  const fastifyBase = await fastify.listen({ port: 0, host: '127.0.0.1' });
  const server: Server = buildExpressApp(ctx).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    bases: { Fastify: fastifyBase, Express: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    async stop() {
      await new Promise((r) => server.close(r));
      await fastify.close(); // closes the cache and flushes the audit log
    },
  };
}

function sender(ctx: ExampleContext, base: string): Send {
  const tokens = new Map<string, string>();
  return async (method, path, options = {}) => {
    const headers: Record<string, string> = options.body === undefined ? {} : { 'content-type': 'application/json' };
    if (options.as) {
      if (!tokens.has(options.as)) tokens.set(options.as, await ctx.devIssuer.issue(options.as));
      headers.authorization = `Bearer ${tokens.get(options.as)}`;
    }
    const res = await fetch(base + path, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
}

function routeScenario(getCtx: () => ExampleContext, getBases: () => Record<string, string>): void {
  describe.each(['Fastify', 'Express'])('%s example', (framework) => {
    const send: Send = (...args) => sender(getCtx(), getBases()[framework] as string)(...args);

    it('GET /healthz, POST /dev/token, GET /stats and GET /metrics need no token', async () => {
      expect((await send('GET', '/healthz')).body).toMatchObject({ ok: true });
      const t = await send('POST', '/dev/token', { body: { userId: users.carol } });
      expect(typeof t.body?.access_token).toBe('string');
      expect((await send('GET', '/stats')).body).toHaveProperty('cache.hitRatio');
      const res = await fetch(`${getBases()[framework]}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toMatch(/^# HELP supaguard_/m);
    });

    it('GET /projects/:id: public → anyone signed in; private → team members only', async () => {
      expect((await send('GET', `/projects/${projects.acmeWebsite}`)).status).toBe(401);
      expect((await send('GET', `/projects/${projects.acmeWebsite}`, { as: users.carol })).body).toMatchObject({ name: 'Acme website', isPublic: true });
      expect((await send('GET', `/projects/${projects.acmeRoadmap}`, { as: users.carol })).status).toBe(403);
      expect((await send('GET', `/projects/${projects.acmeRoadmap}`, { as: users.bob })).status).toBe(200);
      expect((await send('GET', `/projects/${projects.globexSecrets}`, { as: users.bob })).status).toBe(403);
      expect((await send('GET', '/projects/not-a-uuid', { as: users.bob })).body).toMatchObject({ status: 400, code: 'E_INVALID_ID' });
    });

    it('POST /teams/:id/projects: admins only', async () => {
      expect((await send('POST', `/teams/${teams.acme}/projects`, { as: users.bob, body: { name: 'x' } })).status).toBe(403);
      const created = await send('POST', `/teams/${teams.acme}/projects`, { as: users.alice, body: { name: `p-${framework}`, isPublic: false } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ teamId: teams.acme, isPublic: false });
      expect((await send('GET', `/projects/${created.body?.id}`, { as: users.bob })).status).toBe(200);
      expect((await send('POST', `/teams/${teams.acme}/projects`, { as: users.alice, body: {} })).status).toBe(400);
    });

    it('PUT / DELETE /teams/:id/members/:userId: admins only, and the cached decision changes at once', async () => {
      const roadmap = `/projects/${projects.acmeRoadmap}`;
      const member = `/teams/${teams.acme}/members/${users.carol}`;
      expect((await send('GET', roadmap, { as: users.carol })).status).toBe(403); // deny now cached
      expect((await send('PUT', member, { as: users.bob, body: { role: 'member' } })).status).toBe(403);
      expect((await send('PUT', member, { as: users.alice, body: { role: 'member' } })).body).toEqual({ teamId: teams.acme, userId: users.carol, role: 'member' });
      expect((await send('GET', roadmap, { as: users.carol })).status).toBe(200);
      expect((await send('DELETE', member, { as: users.alice })).status).toBe(204);
      expect((await send('GET', roadmap, { as: users.carol })).status).toBe(403);
      expect((await send('PUT', member, { as: users.alice, body: { role: 'owner' } })).status).toBe(400);
    });
  });
}

describe('example apps on the embedded default (PGlite, memory-only cache)', () => {
  let ctx: ExampleContext;
  let running: Awaited<ReturnType<typeof startBoth>>;
  beforeAll(async () => {
    ctx = await createExampleContext({ databaseUrl: '', redisUrl: '' });
    running = await startBoth(ctx);
  }, 120_000);
  afterAll(async () => {
    await running?.stop();
    const audited = await ctx?.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log');
    await ctx?.close();
    expect(audited?.[0]?.n).toBeGreaterThan(0);
  });
  it('runs on PGlite', () => expect(ctx.db.kind).toBe('pglite'));
  routeScenario(() => ctx, () => running.bases);
});

describe.skipIf(!postgresUp)('example apps on real Postgres (own schema) and Redis', () => {
  const schema = `sg_example_${randomBytes(5).toString('hex')}`;
  let ctx: ExampleContext;
  let running: Awaited<ReturnType<typeof startBoth>>;
  beforeAll(async () => {
    ctx = await createExampleContext({ databaseUrl: DATABASE_URL, schema, redisUrl: redisUp ? REDIS_URL : '' });
    running = await startBoth(ctx);
  }, 60_000);
  afterAll(async () => {
    await running?.stop();
    const audited = await ctx?.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log');
    await ctx?.close();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    expect(audited?.[0]?.n).toBeGreaterThan(0);
  });
  it('runs on Postgres, with Redis when available', () => {
    expect(ctx.db.kind).toBe('postgres');
    expect(ctx.redis !== undefined).toBe(redisUp);
  });
  routeScenario(() => ctx, () => running.bases);
});
