// In-server breakdown (not run in CI): what each part of a cached request costs inside a Fastify
// server under load, next to what the same calls cost in a tight loop in the same process. It
// explains the frameworks run: a loop keeps code and data in the CPU's caches, while a server
// runs Node's HTTP stack and Fastify between two calls, so every call starts cold.
//
//   npm run build && LOAD_PIN=1 npx tsx bench/load/breakdown.ts   # LOAD_SECONDS (default 10), LOAD_ROUNDS (default 3)
//
// Two servers on the built package (dist/), driven in turn by autocannon at 100 connections:
// - `parts`: supaguard's plugin, with its verifier and authorization cache wrapped in probes that
//   time, per request, the token's SHA-256 computed first (as the verified-token cache's key is,
//   cold), `verifier.peek` right after it (so its own hash runs warm), the same SHA-256 once more
//   (warm), and `authorization.peek`;
// - `hook`: supaguard's plugin unwrapped, between two marker hooks that time its onRequest hook as
//   a whole; the markers' own cost, timed with nothing between them in a second app of the same
//   process, is subtracted.
// Every timed section costs two `performance.now()` calls; an empty section's time is subtracted.
import { spawn } from 'node:child_process';
import { hash } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify, { type FastifyRequest } from 'fastify';
import type { JWK } from 'jose';
import { createAccessTokenVerifier, createAuthorizationCache, memoryLayer, type AccessTokenClaims, type AuthorizationRequest } from 'supaguard';
import { supaguard } from 'supaguard/fastify';
import { builtPackageEnv } from './built-package.js';
import { ISSUER, median, mintBenchTokens, pinToCpus, RESOURCE } from './harness.js';
import { writeLoadResult } from './results.js';

type Server = 'parts' | 'hook';
const PARTS = ['tokenSha256Cold', 'verifierPeek', 'tokenSha256Warm', 'authorizationPeek', 'supaguardHook', 'emptySection'] as const;
type Part = (typeof PARTS)[number];
type Totals = Record<Part, { ms: number; n: number }>;
const digest = (token: string): string => hash('sha256', token, 'base64');

async function serve(server: Server): Promise<void> {
  const jwk = JSON.parse(process.env.BENCH_JWK as string) as JWK;
  const tokens = JSON.parse(process.env.BENCH_TOKENS as string) as string[];
  const verifier = createAccessTokenVerifier({ jwks: { keys: [jwk] }, issuer: ISSUER });
  const authorization = createAuthorizationCache({ layers: [memoryLayer({ max: 100_000 })], loader: async (reqs) => reqs.map(() => ({ allowed: true })), ttlMs: 600_000 });
  const totals = Object.fromEntries(PARTS.map((p) => [p, { ms: 0, n: 0 }])) as Totals;
  const add = (part: Part, ms: number): void => {
    totals[part].ms += ms;
    totals[part].n++;
  };
  const emptySection = (): void => {
    const t = performance.now();
    add('emptySection', performance.now() - t);
  };

  // In a loop first, in this process: the same calls on the same 100 tokens and users, warm.
  const queries = await Promise.all(tokens.map(async (t) => ({ userId: (await verifier.verify(t)).sub, resourceId: RESOURCE, action: 'project.read' })));
  for (const q of queries) await authorization.check(q);
  const inLoop: Record<string, number> = {};
  const loop = (name: string, fn: (k: number) => unknown): void => {
    let sink: unknown;
    for (let round = 0; round < 3; round++) {
      const t = performance.now();
      for (let k = 0; k < 300_000; k++) sink = fn(k % 100);
      inLoop[name] = ((performance.now() - t) * 1e6) / 300_000; // the last (warmest) round, in ns
    }
    if (sink === Symbol.for('never')) console.log(sink);
  };
  loop('tokenSha256', (k) => digest(tokens[k] as string));
  loop('verifierPeek', (k) => verifier.peek(tokens[k]));
  loop('authorizationPeek', (k) => authorization.peek(queries[k] as AuthorizationRequest));

  const route = { authorize: { resource: (r: FastifyRequest) => (r.params as { id: string }).id, action: 'project.read' } };
  const listen = async (app: ReturnType<typeof Fastify>): Promise<number> => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.server.address() as { port: number }).port;
  };
  let port: number;
  let markersPort: number | undefined;
  if (server === 'parts') {
    const probed = {
      verify: (token: string, options?: { signal?: AbortSignal }) => verifier.verify(token, options),
      peek(token: string): AccessTokenClaims | undefined {
        const t0 = performance.now();
        digest(token);
        const t1 = performance.now();
        const claims = verifier.peek(token);
        const t2 = performance.now();
        digest(token);
        const t3 = performance.now();
        add('tokenSha256Cold', t1 - t0);
        add('verifierPeek', t2 - t1);
        add('tokenSha256Warm', t3 - t2);
        emptySection();
        return claims;
      },
    };
    const authz = {
      check: authorization.check.bind(authorization),
      peek(query: AuthorizationRequest) {
        const t = performance.now();
        const decision = authorization.peek(query);
        add('authorizationPeek', performance.now() - t);
        return decision;
      },
    };
    const app = Fastify();
    await app.register(supaguard, { verifier: probed, authorization: authz });
    app.get('/projects/:id', { config: { supaguard: route } }, async () => ({ id: RESOURCE }));
    port = await listen(app);
  } else {
    // Two apps in this process: marker hooks around supaguard's hook, and the same markers around nothing.
    const marked = async (withSupaguard: boolean): Promise<number> => {
      const started = Symbol('started');
      type Marked = FastifyRequest & { [started]?: number };
      const app = Fastify();
      app.addHook('onRequest', (request, _reply, done) => {
        (request as Marked)[started] = performance.now();
        done();
      });
      if (withSupaguard) await app.register(supaguard, { verifier, authorization });
      app.addHook('onRequest', (request, _reply, done) => {
        add(withSupaguard ? 'supaguardHook' : 'emptySection', performance.now() - ((request as Marked)[started] as number));
        done();
      });
      app.get('/projects/:id', withSupaguard ? { config: { supaguard: route } } : {}, async () => ({ id: RESOURCE }));
      return listen(app);
    };
    port = await marked(true);
    markersPort = await marked(false);
  }
  process.on('message', () => {
    process.send?.({ totals, inLoop });
    for (const part of PARTS) totals[part] = { ms: 0, n: 0 };
  });
  process.send?.({ port, markersPort });
}

async function main(): Promise<void> {
  const seconds = Number(process.env.LOAD_SECONDS ?? 10);
  const rounds = Number(process.env.LOAD_ROUNDS ?? 3);
  const { jwk, tokens } = await mintBenchTokens(100);
  const pin = pinToCpus();
  const start = async (server: Server) => {
    const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', server];
    const child = spawn(pin === undefined ? process.execPath : 'taskset', pin === undefined ? args : ['-c', pin.server, process.execPath, ...args], {
      env: { ...builtPackageEnv(), BENCH_JWK: JSON.stringify(jwk), BENCH_TOKENS: JSON.stringify(tokens) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [{ port, markersPort }] = (await once(child, 'message')) as [{ port: number; markersPort?: number }];
    return { child, port, markersPort: markersPort ?? port };
  };
  const servers = { parts: await start('parts'), hook: await start('hook') };
  let i = 0;
  const run = (port: number, path: string, duration: number) =>
    autocannon({ url: `http://127.0.0.1:${port}${path}`, connections: 100, duration, requests: [{ setupRequest: (req) => ({ ...req, headers: { authorization: `Bearer ${tokens[i++ % tokens.length]}` } }) }] });
  const report = async (child: (typeof servers)['parts']['child']) => {
    child.send('report');
    return ((await once(child, 'message')) as [{ totals: Totals; inLoop: Record<string, number> }])[0];
  };
  // Warm-up: JIT, the token and decision caches; then discard what it measured.
  for (const { child, port } of Object.values(servers)) {
    await run(port, `/projects/${RESOURCE}`, 2);
    await report(child);
  }
  await run(servers.hook.markersPort, `/projects/${RESOURCE}`, 2);
  await report(servers.hook.child);

  const perRound: Record<Part, number[]> = Object.fromEntries(PARTS.map((p) => [p, []])) as unknown as Record<Part, number[]>;
  const ns = (t: { ms: number; n: number }): number => (t.n === 0 ? NaN : (t.ms * 1e6) / t.n);
  let inLoop: Record<string, number> = {};
  for (let round = 0; round < rounds; round++) {
    await run(servers.parts.port, `/projects/${RESOURCE}`, seconds);
    const parts = await report(servers.parts.child);
    inLoop = parts.inLoop;
    // The empty section inside the probes is what each probe's two clock reads cost.
    const clock = ns(parts.totals.emptySection);
    for (const part of ['tokenSha256Cold', 'verifierPeek', 'tokenSha256Warm', 'authorizationPeek'] as const) perRound[part].push(ns(parts.totals[part]) - clock);
    // Hook: supaguard's app and the markers-only app in one window each, the markers' own cost subtracted.
    await run(servers.hook.port, `/projects/${RESOURCE}`, seconds);
    const hooked = await report(servers.hook.child);
    await run(servers.hook.markersPort, `/projects/${RESOURCE}`, seconds);
    const markers = await report(servers.hook.child);
    perRound.supaguardHook.push(ns(hooked.totals.supaguardHook) - ns(markers.totals.emptySection));
    perRound.emptySection.push(clock);
    console.log(`round ${round + 1}: ${PARTS.map((p) => `${p} ${(perRound[p].at(-1) as number).toFixed(0)} ns`).join(', ')}`);
  }
  for (const { child } of Object.values(servers)) {
    child.kill();
    await once(child, 'exit');
  }
  const inServerNs = Object.fromEntries(PARTS.map((p) => [p, median(perRound[p])])) as Record<Part, number>;
  const inLoopNs = { tokenSha256: inLoop.tokenSha256, verifierPeek: inLoop.verifierPeek, authorizationPeek: inLoop.authorizationPeek };
  const rows: Array<[string, number | undefined, number]> = [
    ['token SHA-256, first (the verified-token cache key)', inLoopNs.tokenSha256, inServerNs.tokenSha256Cold],
    ['token SHA-256 again, right after', inLoopNs.tokenSha256, inServerNs.tokenSha256Warm],
    ['verifier.peek (its SHA-256 now warm)', inLoopNs.verifierPeek, inServerNs.verifierPeek],
    ['authorization.peek', inLoopNs.authorizationPeek, inServerNs.authorizationPeek],
    ['supaguard onRequest hook, whole', undefined, inServerNs.supaguardHook],
  ];
  console.log(`\nmedians of ${rounds} rounds (ns)              in a loop   in the server   ratio`);
  for (const [name, loopNs, serverNs] of rows) {
    console.log(`${name.padEnd(52)} ${loopNs === undefined ? '         ' : loopNs.toFixed(0).padStart(9)} ${serverNs.toFixed(0).padStart(15)} ${loopNs === undefined ? '' : `${(serverNs / loopNs).toFixed(1).padStart(6)}×`}`);
  }
  const file = writeLoadResult(process.env.LOAD_RESULT ?? 'breakdown', { connections: 100, seconds, rounds, pinned: pin !== undefined, inLoopNs, inServerNs });
  console.log(`wrote ${file}`);
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) await serve(process.argv[serveAt + 1] as Server);
else await main();
