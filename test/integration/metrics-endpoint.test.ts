/**
 * A real Fastify app on loopback with the supaguard plugin and a `/metrics` route,
 * built from real components: the access-token verifier fetching its JWKS from a
 * loopback server, the authorization cache (memory layer, in-process bus, a second
 * replica), a route rate limit, a circuit breaker around runQuery through supabase-js
 * against the fake PostgREST server, and the performance monitor. Known traffic, then
 * one scrape over HTTP with exact counter values. Fastify's own pino logger is the
 * injected logger, and no captured line may contain the caller's token or a key.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier, type AccessTokenVerifier } from '../../src/auth/access-token-verifier.js';
import { createAuthorizationCache, type AuthorizationCache } from '../../src/cache/authorization-cache.js';
import { closeSupabaseClients, getSupabaseClient } from '../../src/client/registry.js';
import { runQuery } from '../../src/client/run-query.js';
import { supaguard } from '../../src/fastify.js';
import { memoryLayer } from '../../src/layers/memory.js';
import { createSafeLogger } from '../../src/observe/logger.js';
import { createPerformanceMonitor, type PerformanceMonitor } from '../../src/observe/performance-monitor.js';
import { registerPrometheusMetrics, type PrometheusMetrics } from '../../src/observe/prometheus.js';
import { createCircuitBreaker, type CircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import { LocalBus } from '../cache/fixtures.js';
import { parseExposition } from '../helpers/exposition.js';
import { makeKey, signToken, userClaims } from '../helpers/jwt.js';
import { sendPostgrestError, sendRows, startFakePostgrest, type FakePostgrest } from '../helpers/postgrest-server.js';

const SERVICE_KEY = 'sb_secret_metrics_endpoint_key';
const CALLER_KEY = 'sb_publishable_caller_key_123';
const USER = randomUUID();
const GRANTED = randomUUID();
const DENIED = randomUUID();

let postgrest: FakePostgrest;
let jwksServer: Server;
let jwksRequests = 0;
let app: FastifyInstance;
let base: string;
let token: string;
let verifier: AccessTokenVerifier;
let replica: AuthorizationCache;
let metrics: PrometheusMetrics;
let monitor: PerformanceMonitor;
let breaker: CircuitBreaker<[string], unknown>;
const logLines: string[] = [];

beforeAll(async () => {
  const key = await makeKey('ES256');
  jwksServer = createServer((_req, res) => {
    jwksRequests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.publicJwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/auth/v1`;
  token = await signToken(key, userClaims(issuer, { sub: USER }));
  verifier = createAccessTokenVerifier({ jwksUrl: `${issuer}/.well-known/jwks.json`, issuer });

  postgrest = await startFakePostgrest((req, res) => sendRows(req, res, [{ id: 'p1' }]));
  const registry = new Registry();
  metrics = registerPrometheusMetrics({ registry });
  app = Fastify({ logger: { level: 'debug', stream: { write: (line: string) => void logLines.push(line) } } });
  const log = createSafeLogger(app.log);
  monitor = createPerformanceMonitor({ logger: app.log });

  const bus = new LocalBus();
  const loader = async (requests: ReadonlyArray<{ resourceId: string }>) => requests.map((r) => ({ allowed: r.resourceId === GRANTED }));
  const cache = createAuthorizationCache({ layers: [memoryLayer({ max: 1_000 })], loader, bus });
  replica = createAuthorizationCache({ layers: [memoryLayer({ max: 1_000 })], loader, bus });

  const supabase = getSupabaseClient({ url: postgrest.url, key: SERVICE_KEY });
  breaker = createCircuitBreaker(
    (signal, id: string) => runQuery(supabase.from('projects').select('*').eq('id', id), { operation: 'projects.byId', signal }),
    { name: 'postgres', volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeoutMs: 60_000 },
  );

  await app.register(supaguard, {
    verifier: { verify: (t, o) => monitor.measure('auth', () => verifier.verify(t, o)) },
    authorization: { check: (q, o) => monitor.measure('authorization', () => cache.check(q, o)), close: () => cache.close() },
  });
  app.addHook('onRequest', async (req) => log.info({ headers: req.headers, url: req.url }, 'request'));
  const byId = { resource: (req: { params: unknown }) => (req.params as { id: string }).id, action: 'project.read' };
  app.get('/projects/:id', { config: { supaguard: { authorize: byId } } }, async (req) => ({ id: (req.params as { id: string }).id }));
  app.post('/users/:id/invalidate', async (req, reply) => {
    await cache.invalidate({ userId: (req.params as { id: string }).id });
    return reply.code(204).send();
  });
  app.get('/limited', { config: { supaguard: { rateLimit: { points: 1, durationMs: 60_000, name: 'limited' } } } }, async () => ({ ok: true }));
  app.get('/db/:id', { config: { supaguard: { public: true } } }, async (req) => {
    try {
      return await breaker.fire((req.params as { id: string }).id);
    } catch (err) {
      log.warn({ err, authorization: req.headers.authorization }, 'database lookup failed');
      throw err;
    }
  });
  app.get('/metrics', { config: { supaguard: { public: true } } }, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await replica?.close();
  verifier?.dispose();
  breaker?.dispose();
  monitor?.close();
  metrics?.dispose();
  await closeSupabaseClients();
  await postgrest?.close();
  await new Promise((resolve) => jwksServer?.close(resolve));
});

async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${base}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

const call = async (path: string, method = 'GET'): Promise<number> => {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, apikey: CALLER_KEY } });
  await res.arrayBuffer();
  return res.status;
};

describe('GET /metrics after known traffic', () => {
  it('reports exact counts for tokens, cache hits and misses, an invalidation, a rate limit and a forced breaker open', async () => {
    // 3 checks of the same decision: one miss (loader), two hits.
    for (let i = 0; i < 3; i++) expect(await call(`/projects/${GRANTED}`)).toBe(200);
    // An invalidation for the user: sent by this instance, received by the replica; the next check misses.
    expect(await call(`/users/${USER}/invalidate`, 'POST')).toBe(204);
    expect(await call(`/projects/${GRANTED}`)).toBe(200);
    expect(await call(`/projects/${DENIED}`)).toBe(403);
    expect(await call('/limited')).toBe(200);
    expect(await call('/limited')).toBe(429);
    // The database: one success, one failure that opens the breaker (volume 1), one rejection without a query.
    expect(await call('/db/p1')).toBe(200);
    postgrest.handle((_req, res) => sendPostgrestError(res, 500, { message: 'database unavailable', code: 'XX000', details: null, hint: null }));
    expect(await call('/db/p1')).toBeGreaterThanOrEqual(500);
    expect(await call('/db/p1')).toBe(503);
    expect(postgrest.requests).toHaveLength(2);

    const s = await scrape();
    // Token verification: the JWKS fetched once, the first verification a token-cache miss, every later one a hit.
    expect(jwksRequests).toBe(1);
    expect(s.get('supaguard_jwks_fetches_total')).toBe(1);
    expect(s.get('supaguard_jwks_fetch_failures_total')).toBe(0);
    expect(s.get('supaguard_token_cache_misses_total')).toBe(1);
    // Eight authenticated requests (the /db routes are public): one miss, seven hits.
    expect(s.get('supaguard_operation_duration_seconds_count{operation="auth"}')).toBe(8);
    expect(s.get('supaguard_token_cache_hits_total')).toBe(7);
    // Authorization cache.
    expect(s.get('supaguard_cache_hits_total{layer="memory"}')).toBe(2);
    expect(s.get('supaguard_cache_misses_total{layer="memory"}')).toBe(3);
    expect(s.get('supaguard_cache_hit_ratio{layer="memory"}')).toBe(0.4);
    expect(s.get('supaguard_loader_calls_total{operation="authz",outcome="ok"}')).toBe(3);
    expect(s.get('supaguard_loader_duration_seconds_count{operation="authz",outcome="ok"}')).toBe(3);
    expect(s.get('supaguard_invalidations_sent_total{cache="authz"}')).toBe(1);
    expect(s.get('supaguard_invalidations_received_total{cache="authz"}')).toBe(1);
    expect(s.get('supaguard_operation_duration_seconds_count{operation="authorization"}')).toBe(5);
    // Rate limit.
    expect(s.get('supaguard_rate_limit_rejections_total{limiter="limited"}')).toBe(1);
    // The forced breaker open.
    expect(s.get('supaguard_breaker_state{name="postgres",state="open"}')).toBe(1);
    expect(s.get('supaguard_breaker_state{name="postgres",state="closed"}')).toBe(0);
    expect(s.get('supaguard_breaker_transitions_total{name="postgres",from="closed",to="open"}')).toBe(1);
    expect(s.get('supaguard_call_duration_seconds_count{call="query",operation="projects.byId",outcome="ok"}')).toBe(1);
    expect(s.get('supaguard_call_duration_seconds_count{call="query",operation="projects.byId",outcome="error"}')).toBe(1);
    expect(s.get('supaguard_call_duration_seconds_count{call="jwks",operation="fetch",outcome="ok"}')).toBe(1);
  });

  it('no captured log line contains the token or a key', () => {
    expect(logLines.some((line) => line.includes('"msg":"request"'))).toBe(true);
    expect(logLines.some((line) => line.includes('database lookup failed'))).toBe(true);
    for (const line of logLines) {
      expect(line).not.toContain(token);
      expect(line).not.toContain(token.split('.')[2]);
      expect(line).not.toContain(CALLER_KEY);
      expect(line).not.toContain(SERVICE_KEY);
    }
  });
});
