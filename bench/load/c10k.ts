// Run through bench/load/c10k.sh (it raises `ulimit -n`). Starts the Fastify example
// (embedded Postgres unless DATABASE_URL is set) in a child process, then holds
// C10K_CONNECTIONS (default 10,000) connections for C10K_SECONDS (default 20) on
// authenticated + authorised routes and prints req/s, p50 / p99, errors and timeouts.
// Target: 0 errors, 0 timeouts.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { SEED } from '../../examples/shared/seed-ids.js';
import { builtPackageEnv } from './built-package.js';
import { writeLoadResult } from './results.js';

const connections = Number(process.env.C10K_CONNECTIONS ?? 10_000);
const seconds = Number(process.env.C10K_SECONDS ?? 20);
const port = Number(process.env.PORT ?? 3900);
const server = fileURLToPath(new URL('../../examples/fastify/server.ts', import.meta.url));

// Extra Node flags for the server only, e.g. C10K_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
const serverArgs = (process.env.C10K_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
if (!process.env.DATABASE_URL) {
  console.warn('c10k: DATABASE_URL is not set, so the example runs on embedded PGlite, which answers on the main thread and caps throughput far below 10,000 connections. Set DATABASE_URL (and REDIS_URL) for the real measurement.');
}
const child = spawn(process.execPath, [...serverArgs, '--import', 'tsx', server], { env: { ...builtPackageEnv(), PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((resolve, reject) => {
  child.stdout.on('data', (chunk: Buffer) => (String(chunk).includes('example on') ? resolve() : undefined));
  child.once('exit', (code) => reject(new Error(`example exited with ${code}`)));
});
const base = `http://127.0.0.1:${port}`;
const token = async (userId: string): Promise<string> =>
  ((await (await fetch(`${base}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId }) })).json()) as { access_token: string }).access_token;
const pairs: Array<[string, string]> = [
  [await token(SEED.users.alice), SEED.projects.acmeRoadmap],
  [await token(SEED.users.bob), SEED.projects.acmeRoadmap],
  [await token(SEED.users.carol), SEED.projects.acmeWebsite],
  [await token(SEED.users.dave), SEED.projects.globexSecrets],
];
// Warm-up: verify each token and load each decision once, as a running service would have. Without it the
// first burst of 10,000 requests all miss at once and queue behind each other past the example's 2 s deadline.
for (const [t, id] of pairs) await fetch(`${base}/projects/${id}`, { headers: { authorization: `Bearer ${t}` } });
let i = 0;
const result = await autocannon({
  url: base,
  connections,
  duration: seconds,
  timeout: 10,
  requests: [
    {
      setupRequest: (req) => {
        const [t, id] = pairs[i++ % pairs.length] as [string, string];
        return { ...req, path: `/projects/${id}`, headers: { authorization: `Bearer ${t}` } };
      },
    },
  ],
});
child.kill('SIGTERM');
console.log(`${connections} connections, ${seconds} s`);
const statuses = Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => `${code}: ${count}`).join(', ');
console.log(`status codes: ${statuses || 'none'}`);
console.log(`req/s mean ${result.requests.average.toFixed(0)}  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms`);
console.log(`2xx ${result['2xx']}  non-2xx ${result.non2xx}  errors ${result.errors}  timeouts ${result.timeouts}  ${result.errors === 0 && result.timeouts === 0 ? 'PASS' : 'FAIL'} (target: 0 errors, 0 timeouts)`);
const database = process.env.DATABASE_URL ? 'postgres' : 'pglite (embedded, main thread)';
writeLoadResult('c10k', {
  connections,
  seconds,
  database,
  redis: Boolean(process.env.REDIS_URL),
  reqPerSec: result.requests.average,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  ok2xx: result['2xx'],
  non2xx: result.non2xx,
  statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count])),
  errors: result.errors,
  timeouts: result.timeouts,
});
process.exit(0);
