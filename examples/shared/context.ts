import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { createAccessTokenVerifier, createAuditLog, createAuthorizationCache, memoryLayer, type AuditLog, type AuthorizationCache } from 'supaguard';
import { postgresAuditSink } from 'supaguard/postgres';
import { registerPrometheusMetrics } from 'supaguard/prometheus';
import { redisInvalidationBus, redisLayer } from 'supaguard/redis';
import { authorizationLoader } from './authorization.js';
import { openDatabase, type Database } from './database.js';
import { startDevTokenIssuer, type DevTokenIssuer } from './dev-token-issuer.js';

/** Everything the example apps share: database, stand-in issuer, verifier, cache, audit log. */
export interface ExampleContext {
  readonly db: Database;
  /** DEVELOPMENT ONLY stand-in for Supabase Auth. */
  readonly devIssuer: DevTokenIssuer;
  readonly verifier: ReturnType<typeof createAccessTokenVerifier>;
  readonly authorization: AuthorizationCache;
  readonly auditLog: AuditLog;
  readonly redis: Redis | undefined;
  readonly subscriber: Redis | undefined;
  /** supaguard's metrics (from its diagnostics channels) for `GET /metrics`. */
  readonly metricsRegistry: Registry;
  /** Closes what the adapters do not (database, Redis clients, issuer). */
  close(): Promise<void>;
}

/** Options of {@link createExampleContext}; both default to the environment. */
export interface ExampleContextOptions {
  databaseUrl?: string | undefined;
  /** Postgres schema for the tables (tests use a random one). */
  schema?: string | undefined;
  redisUrl?: string | undefined;
}

/**
 * With `DATABASE_URL` (and optionally `REDIS_URL`) the example uses real Postgres
 * and a memory → Redis cache with cross-instance invalidation; with nothing set it
 * runs on embedded Postgres (PGlite) and a memory-only cache.
 */
export async function createExampleContext(options: ExampleContextOptions = {}): Promise<ExampleContext> {
  const databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL;
  const db = await openDatabase({ databaseUrl, schema: options.schema });
  const devIssuer = await startDevTokenIssuer();
  const verifier = createAccessTokenVerifier({ jwksUrl: devIssuer.jwksUrl, issuer: devIssuer.issuer });

  let redis: Redis | undefined;
  let subscriber: Redis | undefined;
  const layers: Parameters<typeof createAuthorizationCache>[0]['layers'][number][] = [memoryLayer({ max: 50_000 })];
  let bus: ReturnType<typeof redisInvalidationBus> | undefined;
  if (redisUrl) {
    redis = new Redis(redisUrl);
    subscriber = redis.duplicate();
    const prefix = `example:${options.schema ?? 'public'}:`;
    layers.push(redisLayer({ client: redis, prefix }));
    bus = redisInvalidationBus({ publisher: redis, subscriber, channel: `${prefix}invalidate` });
  }
  const authorization = createAuthorizationCache({ layers, loader: authorizationLoader(db), ttlMs: 60_000, negativeTtlMs: 30_000, ...(bus ? { bus } : {}) });
  const metricsRegistry = new Registry();
  const prometheus = registerPrometheusMetrics({ registry: metricsRegistry });
  const auditLog = createAuditLog({ sink: postgresAuditSink({ pool: db.auditPool, table: 'audit_log' }), batchSize: 200, flushMs: 500 });

  return {
    db,
    devIssuer,
    verifier,
    authorization,
    auditLog,
    redis,
    subscriber,
    metricsRegistry,
    async close() {
      prometheus.dispose();
      await devIssuer.close();
      redis?.disconnect();
      subscriber?.disconnect();
      await db.close();
    },
  };
}
