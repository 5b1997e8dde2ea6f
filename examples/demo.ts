// npm run demo — the Fastify example on the embedded default (PGlite, memory cache),
// a few seconds of load on loopback through signed-in and authorised routes, a
// membership change mid-run, and the incident's targets with pass / fail.
// DEMO_SECONDS (default 5) and DEMO_CONNECTIONS (default 50) tune the run.
import autocannon from 'autocannon';
import { buildFastifyApp } from './fastify/app.js';
import { createExampleContext, type ExampleContext } from './shared/context.js';
import { SEED } from './shared/seed-ids.js';

const seconds = Number(process.env.DEMO_SECONDS ?? 5);
const connections = Number(process.env.DEMO_CONNECTIONS ?? 50);
const { users, teams, projects } = SEED;

const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};

/**
 * Times every verify and every authorization check the app makes. The adapters
 * first ask the caches synchronously (`peek`) and only call `verify` / `check`
 * when that answers `undefined`, so a request is one answered peek, or a peek
 * miss plus the async call: each request is recorded once.
 */
function instrument(ctx: ExampleContext): { ctx: ExampleContext; auth: number[]; authz: number[] } {
  const auth: number[] = [];
  const authz: number[] = [];
  const timed = <T extends object>(target: T, method: string, into: number[]): T => {
    // Time spent in a peek that missed, added to the async call that follows it.
    let missedPeekMs = 0;
    return new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function') return value;
        if (prop === 'peek') {
          return (...args: unknown[]) => {
            const started = performance.now();
            const answer: unknown = value.apply(obj, args);
            if (answer === undefined) missedPeekMs = performance.now() - started;
            else into.push(performance.now() - started);
            return answer;
          };
        }
        if (prop !== method) return value.bind(obj);
        return async (...args: unknown[]) => {
          const started = performance.now() - missedPeekMs;
          missedPeekMs = 0;
          try {
            return await value.apply(obj, args);
          } finally {
            into.push(performance.now() - started);
          }
        };
      },
    });
  };
  return { ctx: { ...ctx, verifier: timed(ctx.verifier, 'verify', auth), authorization: timed(ctx.authorization, 'check', authz), close: () => ctx.close() }, auth, authz };
}

const started = performance.now();
const base = await createExampleContext({ databaseUrl: '', redisUrl: '' });
const { ctx, auth, authz } = instrument(base);
const app = await buildFastifyApp(ctx);
const url = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`Fastify example on ${url} (embedded Postgres ready in ${Math.round(performance.now() - started)} ms)`);

const token = async (userId: string): Promise<string> => ctx.devIssuer.issue(userId);
const bearer = { alice: await token(users.alice), bob: await token(users.bob), carol: await token(users.carol), dave: await token(users.dave) };
const mix: Array<[string, string]> = [
  [bearer.alice, projects.acmeRoadmap],
  [bearer.bob, projects.acmeRoadmap],
  [bearer.bob, projects.acmeWebsite],
  [bearer.carol, projects.acmeWebsite],
  [bearer.carol, projects.acmeRoadmap], // 403 until the membership change
  [bearer.dave, projects.globexSecrets],
  [bearer.dave, projects.acmeRoadmap], // 403
];
let next = 0;

const send = (method: string, path: string, as: string, body?: unknown) =>
  fetch(url + path, { method, headers: { authorization: `Bearer ${as}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });

// Mid-run: alice adds carol to Acme; the team's cached decisions are invalidated.
let membershipVisible = 'not checked';
let membershipChange: Promise<void> = Promise.resolve();
const change = setTimeout(() => {
  membershipChange = (async () => {
    await send('PUT', `/teams/${teams.acme}/members/${users.carol}`, bearer.alice, { role: 'member' });
    const after = await send('GET', `/projects/${projects.acmeRoadmap}`, bearer.carol);
    membershipVisible = after.status === 200 ? 'yes, on the next request' : `no (status ${after.status})`;
  })();
}, (seconds * 1000) / 2);

const result = await autocannon({
  url,
  connections,
  duration: seconds,
  requests: [
    {
      method: 'GET',
      setupRequest: (req) => {
        const [t, id] = mix[next++ % mix.length] as [string, string];
        return { ...req, path: `/projects/${id}`, headers: { authorization: `Bearer ${t}` } };
      },
    },
  ],
});
clearTimeout(change);
await membershipChange;
// Put the seed back so the demo can be run again against the same database.
await send('DELETE', `/teams/${teams.acme}/members/${users.carol}`, bearer.alice);

const stats = ctx.authorization.stats();
const rows: Array<[string, string]> = [
  ['requests / s (mean)', result.requests.average.toFixed(0)],
  ['latency p50 / p99', `${result.latency.p50} ms / ${result.latency.p99} ms`],
  ['responses 2xx / non-2xx (403 = deny)', `${result['2xx']} / ${result.non2xx}`],
  ['errors / timeouts', `${result.errors} / ${result.timeouts}`],
  ['membership change visible', membershipVisible],
  ['auth (verify) p50 / p99', `${percentile(auth, 50).toFixed(3)} ms / ${percentile(auth, 99).toFixed(3)} ms`],
  ['authorization (check) p50 / p99', `${percentile(authz, 50).toFixed(3)} ms / ${percentile(authz, 99).toFixed(3)} ms`],
  ...stats.layers.map((l): [string, string] => [`authorization ${l.name} layer hit ratio`, `${(l.hitRatio * 100).toFixed(2)} % (${l.hits} hits)`]),
  ['authorization overall hit ratio', `${(stats.hitRatio * 100).toFixed(2)} % (${stats.loader.calls} loader queries)`],
];
const targets: Array<[string, number, number, string]> = [
  ['auth p99 < 50 ms', percentile(auth, 99), 50, 'ms'],
  ['authorization p99 < 75 ms', percentile(authz, 99), 75, 'ms'],
];
const hitOk = stats.hitRatio > 0.95;
const width = Math.max(...rows.map(([k]) => k.length), 30);
console.log(`\n${seconds} s, ${connections} connections, loopback\n`);
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
console.log('\nincident targets');
for (const [name, value, limit, unit] of targets) console.log(`${name.padEnd(width)}  ${value.toFixed(3)} ${unit}  ${value < limit ? 'PASS' : 'FAIL'}`);
console.log(`${'cache hit rate > 95 %'.padEnd(width)}  ${(stats.hitRatio * 100).toFixed(2)} %  ${hitOk ? 'PASS' : 'FAIL'}`);

await app.close();
await ctx.close();
const pass = targets.every(([, v, limit]) => v < limit) && hitOk && result.errors === 0 && result.timeouts === 0;
process.exit(pass ? 0 : 1);
