// Renders the load results (bench/results/load-*.json, written by bench/load/*.ts) as
// the "load" section of docs/benchmarks.md. Every figure comes from those files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { loadResultsDir, type LoadSample } from './results.js';

interface FrameworksResult {
  /** `load-frameworks` for the record run; `load-frameworks-<LOAD_RESULT>` for other runs (floor variants, pinned). */
  scenario: string;
  date: string;
  node: string;
  machine: { cpu: string; cores: number; memoryGiB: number };
  connections: number;
  seconds: number;
  rounds: number;
  /** Server processes per variant, used in turn by the rounds (absent in runs before 2026-12-02 evening: one). */
  processes?: number;
  /** Servers and autocannon pinned to separate CPUs (absent: not pinned). */
  pinned?: boolean;
  variants: Record<string, LoadSample>;
  comparisons: Array<{ framework: string; reqPerSecRatio: number; cpuRatio: number }>;
}
interface C10kResult {
  scenario: 'load-c10k';
  date: string;
  node: string;
  connections: number;
  seconds: number;
  database: string;
  redis: boolean;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  ok2xx: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
}

interface BreakdownResult {
  scenario: 'load-breakdown';
  date: string;
  node: string;
  seconds: number;
  rounds: number;
  pinned: boolean;
  inLoopNs: { tokenSha256: number; verifierPeek: number; authorizationPeek: number };
  inServerNs: { tokenSha256Cold: number; tokenSha256Warm: number; verifierPeek: number; authorizationPeek: number; supaguardHook: number };
}

const pct = (ratio: number): string => `${(ratio * 100).toFixed(1)} %`;
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function frameworksTable(r: FrameworksResult): string[] {
  const lines = [
    `#### ${Object.keys(r.variants).some((v) => /-(hook|sha256)$/.test(v)) ? 'Floor variants, ' : ''}${r.scenario === 'load-frameworks' ? '' : `\`${r.scenario.slice(5)}\`, `}Node ${r.node}, ${r.connections} connections, ${r.rounds} rounds × ${r.seconds} s, ${r.processes ?? 1} server process${(r.processes ?? 1) === 1 ? '' : 'es'} per variant${r.pinned ? ', server and autocannon pinned to separate CPUs' : ''} (${r.date.slice(0, 10)})`,
    '',
    '| variant | req/s (median) | server CPU / request | p50 | p99 | non-2xx / errors / timeouts |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const [name, v] of Object.entries(r.variants)) {
    const bare = r.variants[`${name.split('-')[0]}-bare`];
    const share = bare === undefined || name.endsWith('-bare') ? '' : ` (${pct(v.reqPerSec / bare.reqPerSec)} of bare)`;
    lines.push(`| ${name} | ${int(v.reqPerSec)}${share} | ${v.cpuUsPerReq.toFixed(1)} µs | ${v.p50Ms} ms | ${v.p99Ms} ms | ${v.non2xx} / ${v.errors} / ${v.timeouts} |`);
  }
  lines.push('', '| framework | req/s with supaguard ÷ bare (target ≥ 90 %) | bare CPU ÷ supaguard CPU per request |', '| --- | ---: | ---: |');
  for (const c of r.comparisons) lines.push(`| ${c.framework} | ${pct(c.reqPerSecRatio)} ${c.reqPerSecRatio >= 0.9 ? '(met)' : '(missed)'} | ${pct(c.cpuRatio)} |`);
  return [...lines, ''];
}

function c10kTable(r: C10kResult): string[] {
  const codes = Object.entries(r.statusCodes).map(([code, n]) => `${code}: ${int(n)}`).join(', ');
  const verdict = r.errors === 0 && r.timeouts === 0 && r.non2xx === 0 ? 'met' : 'missed';
  return [
    `#### Node ${r.node}, ${int(r.connections)} connections for ${r.seconds} s, database ${r.database}${r.redis ? ', Redis L2' : ''} (${r.date.slice(0, 10)})`,
    '',
    '| req/s | p50 | p99 | status codes | errors | timeouts | target 0 / 0 |',
    '| ---: | ---: | ---: | --- | ---: | ---: | --- |',
    `| ${int(r.reqPerSec)} | ${r.p50Ms} ms | ${r.p99Ms} ms | ${codes || 'none'} | ${r.errors} | ${r.timeouts} | ${verdict} |`,
    '',
  ];
}

function breakdownTable(r: BreakdownResult): string[] {
  const row = (name: string, loopNs: number | undefined, serverNs: number): string =>
    `| ${name} | ${loopNs === undefined ? '' : int(loopNs)} | ${int(serverNs)} | ${loopNs === undefined ? '' : `${(serverNs / loopNs).toFixed(1)}×`} |`;
  return [
    `#### In-server breakdown, Fastify, Node ${r.node}, 100 connections, ${r.rounds} rounds × ${r.seconds} s${r.pinned ? ', server and autocannon pinned to separate CPUs' : ''} (${r.date.slice(0, 10)})`,
    '',
    '| per request | in a loop (ns) | in the server under load (ns, median) | ratio |',
    '| --- | ---: | ---: | ---: |',
    row('token SHA-256, first (the verified-token cache key)', r.inLoopNs.tokenSha256, r.inServerNs.tokenSha256Cold),
    row('token SHA-256 again, right after', r.inLoopNs.tokenSha256, r.inServerNs.tokenSha256Warm),
    row('`verifier.peek` (its SHA-256 now warm)', r.inLoopNs.verifierPeek, r.inServerNs.verifierPeek),
    row('`authorization.peek`', r.inLoopNs.authorizationPeek, r.inServerNs.authorizationPeek),
    row("supaguard's `onRequest` hook, whole", undefined, r.inServerNs.supaguardHook),
    '',
  ];
}

/** The markdown of the load section, or `undefined` when no load result has been recorded. */
export function renderLoadSection(): string | undefined {
  if (!existsSync(loadResultsDir)) return undefined;
  const files = readdirSync(loadResultsDir).filter((f) => /^load-.*\.json$/.test(f)).sort();
  if (files.length === 0) return undefined;
  const results = files.map((f) => JSON.parse(readFileSync(`${loadResultsDir}${f}`, 'utf8')) as FrameworksResult | C10kResult | BreakdownResult);
  const lines = [
    '## load',
    '',
    'HTTP load from `bench/load/` (not run in CI): autocannon on loopback, on the same machine as the servers. By default they share its cores, as in the issue that set the target; runs marked pinned (`LOAD_PIN=1`) give the servers one CPU of their own and autocannon the others, so each server is the bottleneck and its full cost per request shows.',
    '',
    '- `npm run build && npx tsx bench/load/frameworks.ts` — bare Fastify and Express against the same app with supaguard `authenticate` + `authorize` answered from the caches (100 tokens, one resource); each server is its own process (two per variant, used in turn by the rounds) and loads the built package (dist/), as users do; rounds alternate the order of the variants and the table gives medians. `express-noop` has the same middleware layers as `express-supaguard`, each only calling `next()`: Express\'s own cost of those layers. Server CPU per request (from `process.cpuUsage()` in the server) is steadier than req/s on a shared machine.',
    '- `npm run build && LOAD_PIN=1 npx tsx bench/load/breakdown.ts` — inside a Fastify server with supaguard under the same load, the time of each part of a cached request (probes with `performance.now()`, their own cost subtracted), next to the same calls in a tight loop in that process: a loop keeps code and data in the CPU caches, a server runs Node\'s HTTP stack and Fastify between two calls.',
    '- `bash bench/load/c10k.sh` — the Fastify example (`examples/fastify`) held at 10,000 connections on authenticated, authorised routes after one warm-up request per token, on the built package; the script builds it and raises `ulimit -n`.',
    '',
  ];
  // The record runs (the default variants) first, then runs under other names (floor variants, pinned).
  for (const r of results) if (r.scenario === 'load-frameworks') lines.push(...frameworksTable(r));
  for (const r of results) if (r.scenario.startsWith('load-frameworks-')) lines.push(...frameworksTable(r as FrameworksResult));
  for (const r of results) if (r.scenario === 'load-breakdown') lines.push(...breakdownTable(r as BreakdownResult));
  for (const r of results) if (r.scenario === 'load-c10k') lines.push(...c10kTable(r as C10kResult));
  return lines.join('\n');
}
