// Load benchmark (not run in CI): at 100 connections, bare Fastify vs Fastify with
// supaguard's authenticate + authorize (cache hits), and the same for Express. Each
// server runs in its own child process on the built package (dist/); autocannon drives
// it from this one.
//
//   npm run build && npx tsx bench/load/frameworks.ts   # LOAD_SECONDS (default 10), LOAD_CONNECTIONS (default 100)
//
// Target: with supaguard ≥ 90 % of the bare framework's req/s.
//
// Method (see docs/benchmarks.md): by default server and autocannon share the machine's cores,
// as in the issue that set the target. LOAD_PIN=1 pins the servers to the last CPU and autocannon
// to the others (with `taskset`): each server then has one core of its own and is the bottleneck,
// so its cost per request shows in full, and CPU time per request moves far less between rounds.
// Each variant runs in LOAD_PROCESSES (default 2) server processes, used in turn by the rounds, so
// that one process's JIT or GC luck does not decide a variant's median.
//
// Floor variants (not in the default set; name them in LOAD_VARIANTS): `fastify-hook` is an
// onRequest hook that only calls done(); `fastify-route-options` the same hook reading
// `request.routeOptions.config` (how the supaguard hook finds a route's settings); `fastify-sha256`
// the same hook computing the SHA-256 of the bearer token, as the verified-token cache's key does;
// `express-sha256` express-noop's layers with that hash. They measure what the framework, the route
// lookup and a cache of verified tokens keyed by a hash cost on their own.
import { spawn } from 'node:child_process';
import { hash } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import express from 'express';
import Fastify from 'fastify';
import type { JWK } from 'jose';
import { createAccessTokenVerifier, createAuthorizationCache, memoryLayer } from 'supaguard';
import { authenticate, authorize, errorHandler } from 'supaguard/express';
import { supaguard } from 'supaguard/fastify';
import { builtPackageEnv } from './built-package.js';
import { ISSUER, median, mintBenchTokens, pinToCpus, RESOURCE } from './harness.js';
import { writeLoadResult, type LoadSample } from './results.js';

type Variant = 'fastify-bare' | 'fastify-hook' | 'fastify-route-options' | 'fastify-sha256' | 'fastify-supaguard' | 'express-bare' | 'express-noop' | 'express-sha256' | 'express-supaguard';
// express-noop has the same middleware layers as express-supaguard, each calling next(): Express's own cost of them.
const ALL: Variant[] = ['fastify-bare', 'fastify-supaguard', 'express-bare', 'express-noop', 'express-supaguard'];
// LOAD_VARIANTS=express-bare,express-supaguard runs a subset.
const FLOOR: Variant[] = ['fastify-hook', 'fastify-route-options', 'fastify-sha256', 'express-sha256'];
const VARIANTS: Variant[] = process.env.LOAD_VARIANTS ? (process.env.LOAD_VARIANTS.split(',') as Variant[]).filter((v) => ALL.includes(v) || FLOOR.includes(v)) : ALL;

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
    } else if (variant === 'fastify-hook' || variant === 'fastify-route-options' || variant === 'fastify-sha256') {
      const digest = variant === 'fastify-sha256';
      const routeOptions = variant === 'fastify-route-options';
      app.addHook('onRequest', (request, _reply, done) => {
        if (digest) tokenDigest(request.headers.authorization);
        // What the supaguard hook does to find the route's settings: Fastify's getter builds the options object.
        if (routeOptions) lastConfig = request.routeOptions.config;
        done();
      });
      app.get('/projects/:id', async () => body);
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
    } else if (variant === 'express-noop' || variant === 'express-sha256') {
      const pass: express.RequestHandler = (_req, _res, next) => next();
      const digest: express.RequestHandler = (req, _res, next) => {
        tokenDigest(req.headers.authorization);
        next();
      };
      app.use(variant === 'express-sha256' ? digest : pass);
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
  if (variant.endsWith('-supaguard') && !import.meta.resolve('supaguard').includes('/dist/')) throw new Error(`supaguard resolved to ${import.meta.resolve('supaguard')}, not dist/`);
  process.send?.({ port });
}

// Kept so the digest and the route config are live values, as in the supaguard hook.
export let lastDigest = '';
export let lastConfig: unknown;
/** What the verified-token cache computes per request for its key: SHA-256 of the token, base64 (src/auth/fingerprint.ts). */
function tokenDigest(header: string | undefined): void {
  if (header !== undefined) lastDigest = hash('sha256', header.slice(7), 'base64');
}

type Sample = LoadSample;

async function main(): Promise<void> {
  const seconds = Number(process.env.LOAD_SECONDS ?? 10);
  const connections = Number(process.env.LOAD_CONNECTIONS ?? 100);
  // Rounds alternate the order of the variants, so drift on a shared machine hits each variant alike.
  const rounds = Number(process.env.LOAD_ROUNDS ?? 6);
  const { jwk, tokens } = await mintBenchTokens(100);
  const processes = Math.max(1, Number(process.env.LOAD_PROCESSES ?? 2));
  const pin = pinToCpus();
  const servers = new Map<Variant, Array<{ child: ReturnType<typeof spawn>; port: number }>>();
  for (const variant of VARIANTS) {
    const list: Array<{ child: ReturnType<typeof spawn>; port: number }> = [];
    for (let n = 0; n < processes; n++) {
      const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', variant];
      const child = spawn(pin === undefined ? process.execPath : 'taskset', pin === undefined ? args : ['-c', pin.server, process.execPath, ...args], {
        env: { ...builtPackageEnv(), BENCH_JWK: JSON.stringify(jwk) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const [{ port }] = (await once(child, 'message')) as [{ port: number }];
      list.push({ child, port });
    }
    servers.set(variant, list);
  }
  let i = 0;
  const run = (port: number, duration: number) =>
    autocannon({
      url: `http://127.0.0.1:${port}/projects/${RESOURCE}`,
      connections,
      duration,
      requests: [{ setupRequest: (req) => ({ ...req, headers: { authorization: `Bearer ${tokens[i++ % tokens.length]}` } }) }],
    });
  const cpu = async (child: ReturnType<typeof spawn>): Promise<NodeJS.CpuUsage> => {
    child.send('cpu');
    const [{ cpu: usage }] = (await once(child, 'message')) as [{ cpu: NodeJS.CpuUsage }];
    return usage;
  };
  for (const list of servers.values()) for (const { port } of list) await run(port, 2); // warm-up: JIT, token and decision caches

  const samples = new Map<Variant, Sample[]>(VARIANTS.map((v) => [v, []]));
  for (let round = 0; round < rounds; round++) {
    for (const variant of round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
      const list = servers.get(variant) as Array<{ child: ReturnType<typeof spawn>; port: number }>;
      // Rounds alternate the variants' order; the process index shifts every two rounds (0, 1, 1, 0, 0, 1 for
      // two processes), so each process runs in both orders and its luck is not tied to one position.
      const { child, port } = list[(round + (round >> 1)) % list.length] as { child: ReturnType<typeof spawn>; port: number };
      const before = await cpu(child);
      const r = await run(port, seconds);
      const after = await cpu(child);
      const sample: Sample = {
        reqPerSec: r.requests.average,
        cpuUsPerReq: (after.user - before.user + after.system - before.system) / Math.max(1, r.requests.total),
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        non2xx: r.non2xx,
        errors: r.errors,
        timeouts: r.timeouts,
      };
      samples.get(variant)?.push(sample);
      console.log(
        `round ${round + 1} ${variant.padEnd(18)} ${sample.reqPerSec.toFixed(0).padStart(7)} req/s  server CPU ${sample.cpuUsPerReq.toFixed(1)} µs/req  ` +
          `p50 ${sample.p50Ms} ms  p99 ${sample.p99Ms} ms  non-2xx ${sample.non2xx}  errors ${sample.errors}  timeouts ${sample.timeouts}`,
      );
    }
  }
  for (const list of servers.values()) {
    for (const { child } of list) {
      child.kill();
      await once(child, 'exit');
    }
  }

  const summary: Record<string, Sample> = {};
  for (const [variant, list] of samples) {
    const pick = (key: keyof Sample): number => median(list.map((x) => x[key]));
    summary[variant] = {
      reqPerSec: pick('reqPerSec'),
      cpuUsPerReq: pick('cpuUsPerReq'),
      p50Ms: pick('p50Ms'),
      p99Ms: pick('p99Ms'),
      non2xx: list.reduce((n, x) => n + x.non2xx, 0),
      errors: list.reduce((n, x) => n + x.errors, 0),
      timeouts: list.reduce((n, x) => n + x.timeouts, 0),
    };
  }
  const comparisons: Array<{ framework: string; reqPerSecRatio: number; cpuRatio: number }> = [];
  for (const fw of ['fastify', 'express']) {
    const bare = summary[`${fw}-bare`];
    const guarded = summary[`${fw}-supaguard`];
    if (bare === undefined || guarded === undefined) continue;
    const reqPerSecRatio = guarded.reqPerSec / bare.reqPerSec;
    const cpuRatio = bare.cpuUsPerReq / guarded.cpuUsPerReq;
    comparisons.push({ framework: fw, reqPerSecRatio, cpuRatio });
    console.log(
      `${fw} (medians of ${rounds} rounds): with supaguard ${(reqPerSecRatio * 100).toFixed(1)} % of bare req/s (target ≥ 90 %) ${reqPerSecRatio >= 0.9 ? 'PASS' : 'FAIL'}; ` +
        `bare CPU µs/req ÷ supaguard CPU µs/req ${(cpuRatio * 100).toFixed(1)} %`,
    );
  }
  // LOAD_RESULT names the file (bench/results/load-<name>-node<major>.json), e.g. for a run of the floor variants.
  const file = writeLoadResult(process.env.LOAD_RESULT ?? (pin === undefined ? 'frameworks' : 'frameworks-pinned'), { connections, seconds, rounds, processes, pinned: pin !== undefined, variants: summary, comparisons });
  console.log(`wrote ${file}`);
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) await serve(process.argv[serveAt + 1] as Variant);
else await main();
