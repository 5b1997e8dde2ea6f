// Load benchmark (not run in CI): at 100 connections, bare Fastify vs Fastify with
// supaguard's authenticate + authorize (cache hits), and the same for Express. Each
// server runs in its own child process; autocannon drives it from this one.
//
//   npx tsx bench/load/frameworks.ts            # LOAD_SECONDS (default 10), LOAD_CONNECTIONS (default 100)
//
// Target: with supaguard ≥ 90 % of the bare framework's req/s.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import express from 'express';
import Fastify from 'fastify';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { createAccessTokenVerifier, createAuthorizationCache, memoryLayer } from 'supaguard';
import { authenticate, authorize, errorHandler } from 'supaguard/express';
import { supaguard } from 'supaguard/fastify';

type Variant = 'fastify-bare' | 'fastify-supaguard' | 'express-bare' | 'express-noop' | 'express-supaguard';
// express-noop has the same middleware layers as express-supaguard, each calling next(): Express's own cost of them.
const ALL: Variant[] = ['fastify-bare', 'fastify-supaguard', 'express-bare', 'express-noop', 'express-supaguard'];
// LOAD_VARIANTS=express-bare,express-supaguard runs a subset.
const VARIANTS: Variant[] = process.env.LOAD_VARIANTS ? (process.env.LOAD_VARIANTS.split(',') as Variant[]).filter((v) => ALL.includes(v)) : ALL;
const ISSUER = 'https://bench.supabase.co/auth/v1';
const RESOURCE = '5e5e5e5e-0000-4000-8000-000000000001';

async function serve(variant: Variant): Promise<void> {
  const jwk = JSON.parse(process.env.BENCH_JWK as string) as JWK;
  const verifier = createAccessTokenVerifier({ jwks: { keys: [jwk] }, issuer: ISSUER });
  // Every decision is an allow; after the first request per user they are L1 hits.
  const authorization = createAuthorizationCache({ layers: [memoryLayer({ max: 100_000 })], loader: async (reqs) => reqs.map(() => ({ allowed: true })), ttlMs: 600_000 });
  const body = { id: RESOURCE, name: 'project' };
  let port: number;
  if (variant.startsWith('fastify')) {
    const app = Fastify();
    if (variant === 'fastify-supaguard') {
      await app.register(supaguard, { verifier, authorization });
      app.get('/projects/:id', { config: { supaguard: { authorize: { resource: (r) => (r.params as { id: string }).id, action: 'project.read' } } } }, async () => body);
    } else {
      app.get('/projects/:id', async () => body);
    }
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  } else {
    const app = express();
    if (variant === 'express-supaguard') {
      app.use(authenticate({ verifier }));
      app.get('/projects/:id', authorize({ authorization, resource: (r) => r.params.id, action: 'project.read' }), (_req, res) => void res.json(body));
      app.use(errorHandler());
    } else if (variant === 'express-noop') {
      const pass: express.RequestHandler = (_req, _res, next) => next();
      app.use(pass);
      app.get('/projects/:id', pass, (_req, res) => void res.json(body));
      app.use(((err, _req, _res, next) => next(err)) as express.ErrorRequestHandler);
    } else {
      app.get('/projects/:id', (_req, res) => void res.json(body));
    }
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  }
  // CPU time per request is far less sensitive than req/s to other load on a shared machine.
  process.on('message', () => process.send?.({ cpu: process.cpuUsage() }));
  // A clean exit on SIGINT lets `--cpu-prof` write its profile.
  process.on('SIGINT', () => process.exit(0));
  process.send?.({ port });
}

async function main(): Promise<void> {
  const seconds = Number(process.env.LOAD_SECONDS ?? 10);
  const connections = Number(process.env.LOAD_CONNECTIONS ?? 100);
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
  const tokens = await Promise.all(
    Array.from({ length: 100 }, () =>
      new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'ES256', kid: 'bench' }).setSubject(randomUUID()).setIssuer(ISSUER).setAudience('authenticated').setIssuedAt().setExpirationTime('2h').sign(privateKey),
    ),
  );
  const results: Record<string, autocannon.Result> = {};
  const cpuPerRequest: Record<string, number> = {};
  for (const variant of VARIANTS) {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', variant], {
      env: { ...process.env, BENCH_JWK: JSON.stringify(jwk) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [{ port }] = (await once(child, 'message')) as [{ port: number }];
    let i = 0;
    const run = (duration: number) =>
      autocannon({
        url: `http://127.0.0.1:${port}/projects/${RESOURCE}`,
        connections,
        duration,
        requests: [{ setupRequest: (req) => ({ ...req, headers: { authorization: `Bearer ${tokens[i++ % tokens.length]}` } }) }],
      });
    const cpu = async (): Promise<NodeJS.CpuUsage> => {
      child.send('cpu');
      const [{ cpu: usage }] = (await once(child, 'message')) as [{ cpu: NodeJS.CpuUsage }];
      return usage;
    };
    await run(2); // warm-up: JIT, token and decision caches
    const before = await cpu();
    results[variant] = await run(seconds);
    const after = await cpu();
    const served = (results[variant] as autocannon.Result).requests.total;
    cpuPerRequest[variant] = (after.user - before.user + after.system - before.system) / Math.max(1, served);
    child.kill();
    await once(child, 'exit');
    const r = results[variant] as autocannon.Result;
    console.log(`${variant.padEnd(18)} ${r.requests.average.toFixed(0).padStart(7)} req/s  server CPU ${cpuPerRequest[variant]?.toFixed(1)} µs/req  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  non-2xx ${r.non2xx}  errors ${r.errors}  timeouts ${r.timeouts}`);
  }
  for (const fw of ['fastify', 'express']) {
    if (results[`${fw}-bare`] === undefined || results[`${fw}-supaguard`] === undefined) continue;
    const bare = results[`${fw}-bare`]?.requests.average ?? 0;
    const guarded = results[`${fw}-supaguard`]?.requests.average ?? 0;
    const ratio = guarded / bare;
    const cpuRatio = (cpuPerRequest[`${fw}-bare`] ?? 0) / (cpuPerRequest[`${fw}-supaguard`] ?? 1);
    console.log(
      `${fw}: with supaguard ${(ratio * 100).toFixed(1)} % of bare req/s (target ≥ 90 %) ${ratio >= 0.9 ? 'PASS' : 'FAIL'}; ` +
        `CPU-bound estimate (bare µs/req ÷ supaguard µs/req) ${(cpuRatio * 100).toFixed(1)} %`,
    );
  }
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) await serve(process.argv[serveAt + 1] as Variant);
else await main();
