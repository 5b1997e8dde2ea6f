/**
 * A real Fastify app on loopback, real supaguard components (circuit breaker,
 * runQuery through supabase-js against the fake PostgREST server, performance
 * monitor) and a `/metrics` route: known traffic, then a scrape over HTTP with
 * exact counter values. Fastify's own pino logger is the injected logger, and no
 * captured line may contain the caller's token or API key.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSupabaseClients, getSupabaseClient } from '../../src/client/registry.js';
import { runQuery } from '../../src/client/run-query.js';
import { isCircuitOpenError, isSupaguardError } from '../../src/errors.js';
import { createSafeLogger } from '../../src/observe/logger.js';
import { createPerformanceMonitor, type PerformanceMonitor } from '../../src/observe/performance-monitor.js';
import { registerPrometheusMetrics, type PrometheusMetrics } from '../../src/observe/prometheus.js';
import { createCircuitBreaker, type CircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import { fakeAccessToken, sendPostgrestError, sendRows, startFakePostgrest, type FakePostgrest } from '../helpers/postgrest-server.js';

const SERVICE_KEY = 'sb_secret_metrics_endpoint_key';
const CALLER_KEY = 'sb_publishable_caller_key_123';
const TOKEN = fakeAccessToken('user-1');
const ROWS = [{ id: 'p1', name: 'alpha' }];

let server: FakePostgrest;
let app: FastifyInstance;
let base: string;
let metrics: PrometheusMetrics;
let monitor: PerformanceMonitor;
let breaker: CircuitBreaker<[string], unknown>;
const logLines: string[] = [];

beforeAll(async () => {
  server = await startFakePostgrest((req, res) => sendRows(req, res, ROWS));
  const registry = new Registry();
  metrics = registerPrometheusMetrics({ registry });
  app = Fastify({ logger: { level: 'debug', stream: { write: (line: string) => void logLines.push(line) } } });
  const log = createSafeLogger(app.log);
  monitor = createPerformanceMonitor({ logger: app.log });
  const supabase = getSupabaseClient({ url: server.url, key: SERVICE_KEY });
  breaker = createCircuitBreaker(
    (signal, id: string) => runQuery(supabase.from('projects').select('*').eq('id', id), { operation: 'projects.byId', signal }),
    { name: 'postgres', volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeoutMs: 60_000 },
  );

  app.get<{ Params: { id: string } }>('/projects/:id', async (req, reply) => {
    log.info({ headers: req.headers, id: req.params.id }, 'project requested');
    try {
      return await monitor.measure('authorization', () => breaker.fire(req.params.id));
    } catch (err) {
      log.warn({ err, authorization: req.headers.authorization }, 'project lookup failed');
      reply.code(isCircuitOpenError(err) ? 503 : 502);
      return { code: isSupaguardError(err) ? err.code : 'E_UNKNOWN' };
    }
  });
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  breaker?.dispose();
  monitor?.close();
  metrics?.dispose();
  await closeSupabaseClients();
  await server?.close();
});

async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${base}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

const get = (path: string): Promise<Response> => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, apikey: CALLER_KEY } });

describe('GET /metrics after known traffic', () => {
  it('reports exact counts for queries, a forced breaker open and the monitored operation', async () => {
    for (let i = 0; i < 3; i++) expect((await get('/projects/p1')).status).toBe(200);
    // The database fails once: the breaker (volume 1) opens, the next two calls are rejected without a query.
    server.handle((_req, res) => sendPostgrestError(res, 500, { message: 'database unavailable', code: 'XX000', details: null, hint: null }));
    expect((await get('/projects/p1')).status).toBe(502);
    expect((await get('/projects/p1')).status).toBe(503);
    expect((await get('/projects/p1')).status).toBe(503);
    expect(server.requests).toHaveLength(4);

    const s = await scrape();
    expect(s.get('supaguard_breaker_state{name="postgres",state="open"}')).toBe(1);
    expect(s.get('supaguard_breaker_state{name="postgres",state="closed"}')).toBe(0);
    expect(s.get('supaguard_breaker_transitions_total{name="postgres",from="closed",to="open"}')).toBe(1);
    expect(s.get('supaguard_call_duration_seconds_count{call="query",operation="projects.byId",outcome="ok"}')).toBe(3);
    expect(s.get('supaguard_call_duration_seconds_count{call="query",operation="projects.byId",outcome="error"}')).toBe(1);
    expect(s.get('supaguard_operation_duration_seconds_count{operation="authorization"}')).toBe(6);
    expect(monitor.snapshot().operations.authorization?.count).toBe(6);
  });

  it('no captured log line contains the token or a key', () => {
    expect(logLines.some((line) => line.includes('project requested'))).toBe(true);
    expect(logLines.some((line) => line.includes('project lookup failed'))).toBe(true);
    for (const line of logLines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain(TOKEN.split('.')[2]);
      expect(line).not.toContain(CALLER_KEY);
      expect(line).not.toContain(SERVICE_KEY);
    }
  });
});
