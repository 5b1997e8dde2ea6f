// Run through bench/load/c10k.sh (it raises `ulimit -n`). Starts the Fastify example
// (embedded Postgres unless DATABASE_URL is set) in a child process, then holds
// C10K_CONNECTIONS (default 10,000) connections for C10K_SECONDS (default 20) on
// authenticated + authorised routes and prints req/s, p50 / p99, errors and timeouts.
// Target: 0 errors, 0 timeouts.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { SEED } from '../../examples/shared/seed-ids.js';

const connections = Number(process.env.C10K_CONNECTIONS ?? 10_000);
const seconds = Number(process.env.C10K_SECONDS ?? 20);
const port = Number(process.env.PORT ?? 3900);
const server = fileURLToPath(new URL('../../examples/fastify/server.ts', import.meta.url));

// Extra Node flags for the server only, e.g. C10K_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
const serverArgs = (process.env.C10K_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const child = spawn(process.execPath, [...serverArgs, '--import', 'tsx', server], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
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
console.log(`req/s mean ${result.requests.average.toFixed(0)}  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms`);
console.log(`2xx ${result['2xx']}  non-2xx ${result.non2xx}  errors ${result.errors}  timeouts ${result.timeouts}  ${result.errors === 0 && result.timeouts === 0 ? 'PASS' : 'FAIL'} (target: 0 errors, 0 timeouts)`);
process.exit(0);
