/**
 * Generates `docs/benchmarks.md` from `bench/results/latest.json`: method,
 * machine, one section per scenario (table, chart, targets met or missed) and a
 * hand-written explanation of where supaguard is not faster. No figure is typed
 * by hand: every number comes from the JSON. `npm run bench` calls this after
 * the charts; `npx tsx bench/report.ts` regenerates the page from the committed JSON.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatNs } from './charts.js';
import { renderLoadSection } from './load/report-section.js';
import type { Comparison, ScenarioResult, TaskResult } from './lib/harness.js';

interface LatestLike {
  date: string;
  node: string;
  machine: ScenarioResult['machine'];
  scenarios: ScenarioResult[];
}

type Verdict = 'met' | 'missed' | 'not machine-checkable';

const reportPath = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));

/**
 * Hand-written, deliberately without figures: why a scenario can lose to a
 * peer. The figures and which targets were missed are read from the JSON.
 */
const explanations: Record<string, string> = {
  auth:
    'Uncached verification is dominated by the signature check, which supaguard and jose both hand to `node:crypto`; ' +
    'supaguard adds a strict parse before it (length limit, canonical base64url, strict JSON without duplicate keys) and its claim rules after it, so uncached it can at best be level with jose, ' +
    'and on a loaded machine the sequential medians drift either way (the paired-round figures alternate both tasks to cancel that drift). ' +
    'The gain is on the cached path, which every request after the first one for a token takes.',
  'authorization-cache':
    '`check()` and `peek()` take an `AuthorizationRequest` object, validate the ids and build the cache key on every call, ' +
    'then check expiry and version stamps; lru-cache and cache-manager are measured on a string key the benchmark built beforehand, so they do a bare map lookup. ' +
    'On the Redis path, every supaguard call is bounded by the request deadline (a timer and an AbortSignal per call), decodes and validates the stored entry, ' +
    'and goes through the layer breaker; a raw ioredis `GET` does none of this. In the concurrent L2 run the reads share one `MGET`, but each caller still keeps its own time limit and decodes its own entry. ' +
    'These are the costs of degrading instead of hanging when Redis fails; see the runbook.',
  channels:
    'Publishing without subscribers is the `node:diagnostics_channel` fast path and costs about as much as an empty call; ' +
    'with Prometheus and OpenTelemetry subscribed, the cost is the subscribers themselves. There is no peer: the baseline is an empty function call.',
  'client-factory':
    'There is no case where the per-request `createClient` anti-pattern is faster. ' +
    '`getUserClient` still builds a small per-user wrapper around the shared transport, so it is slower than the fully cached `getSupabaseClient` hot path.',
  monitor:
    '`monitor.track()` records into a sliding window and feeds percentiles and metrics; the `perf_hooks` histogram it is compared with only increments a bucket, ' +
    'so it is a floor rather than a competitor. The target is an absolute per-call budget.',
  resilience:
    'Every wrapper creates its AbortSignal only when the function declares a parameter, and all time limits share one timer, so the wrappers are measured ' +
    'around a function that takes no signal; `withTimeout, fn declares its signal` shows the cost of a signal (on Node 20 almost all of it the `AbortSignal` itself). ' +
    'A lone breaker or bulkhead call keeps latency percentiles and counters and checks the deadline, so cockatiel\'s single policies can be leaner on Node 24. ' +
    '`withDeadline` is compared with a bare `await`, so its ratio is below one by construction: the target is the time it adds, not a ratio. ' +
    '`p-timeout alone` is not a peer: it is what `withTimeout` was built on, measured to show why it no longer is. ' +
    'Tasks that arm a timer are the most sensitive to a loaded machine, so compare their figures within one run only.',
  'resilience-memory':
    'No speed comparison: this scenario measures memory and timers for many breakers (the notes), against opossum with its defaults. ' +
    'Compare the idle and after-calls rows: an idle supaguard breaker can hold more than an idle opossum breaker, while opossum grows with calls and keeps two intervals per breaker where supaguard shares one.',
};

const median = (tasks: TaskResult[], name: string): number | undefined => tasks.find((t) => t.name === name)?.medianNs;

/** Parses an amount like `1 µs` or `200 ns` into nanoseconds. */
function parseDuration(text: string): number | undefined {
  const m = /([\d.]+)\s*(ns|µs|us|ms)/.exec(text);
  if (!m) return undefined;
  const factor = m[2] === 'ms' ? 1e6 : m[2] === 'ns' ? 1 : 1e3;
  return Number(m[1]) * factor;
}

/**
 * Reads a target written by a bench file (free text, e.g. `≥ 2× faster`,
 * `ours ≤ 1.15× raw GET (ratio ≥ 0.87)`, `≤ 1 µs added over bare`,
 * `track() ≤ 200 ns median`) and checks every condition it can understand.
 */
export function checkTarget(scenario: ScenarioResult, comparison: Comparison & { ratio: number }): Verdict {
  const target = comparison.target;
  if (!target) return 'not machine-checkable';
  const checks: boolean[] = [];
  const ratioBound = /ratio ≥ ([\d.]+)/.exec(target) ?? /^≥ ([\d.]+)/.exec(target) ?? /≥ ([\d.]+)×/.exec(target);
  if (ratioBound) checks.push(comparison.ratio >= Number(ratioBound[1]));
  const subject = median(scenario.tasks, comparison.subject);
  const added = /≤ ([\d.]+\s*(?:ns|µs|ms)) added/.exec(target);
  if (added && subject !== undefined) {
    const bare = scenario.tasks.find((t) => t.name.startsWith('bare'))?.medianNs;
    const limit = parseDuration(added[1] as string);
    if (bare !== undefined && limit !== undefined) checks.push(subject - bare <= limit);
  }
  const absolute = /≤ ([\d.]+\s*(?:ns|µs|ms)) median/.exec(target);
  if (absolute && subject !== undefined) checks.push(subject <= (parseDuration(absolute[1] as string) ?? Infinity));
  if (checks.length === 0) return 'not machine-checkable';
  return checks.every(Boolean) ? 'met' : 'missed';
}

/** Targets stated as notes (`target: <task> median` → `≤ 1 µs`). */
function noteTargets(scenario: ScenarioResult): Array<{ label: string; target: string; verdict: Verdict; value?: number }> {
  return Object.entries(scenario.notes)
    .filter(([key]) => key.startsWith('target: '))
    .map(([key, target]) => {
      const task = key.slice('target: '.length).replace(/ median$/, '');
      const value = median(scenario.tasks, task);
      const limit = parseDuration(String(target));
      const verdict: Verdict = value === undefined || limit === undefined ? 'not machine-checkable' : value <= limit ? 'met' : 'missed';
      return value === undefined ? { label: task, target: String(target), verdict } : { label: task, target: String(target), verdict, value };
    });
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');
const ratio = (r: number): string => `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;

function scenarioSection(s: ScenarioResult): string {
  const lines = [`## ${s.scenario}`, '', `![${s.scenario} chart](benchmarks/${s.scenario}.svg)`, ''];
  lines.push('| task | median | p99 | ops/s | samples |', '| --- | ---: | ---: | ---: | ---: |');
  for (const t of s.tasks) {
    lines.push(`| ${cell(t.name)} | ${formatNs(t.medianNs)} | ${formatNs(t.p99Ns)} | ${Math.round(t.opsPerSec).toLocaleString('en-US')} | ${t.samples.toLocaleString('en-US')} |`);
  }
  const targets = noteTargets(s);
  if (s.comparisons.length > 0 || targets.length > 0) {
    lines.push('', '| supaguard task | compared with | ratio (peer median / ours) | target | result |', '| --- | --- | ---: | --- | --- |');
    for (const c of s.comparisons) {
      const verdict = checkTarget(s, c);
      const shown = verdict === 'missed' ? '**target missed**' : c.target ? verdict : c.ratio < 1 ? 'slower than peer (no target)' : 'no target';
      lines.push(`| ${cell(c.subject)} | ${cell(c.peer)} | ${ratio(c.ratio)} | ${cell(c.target ?? '')} | ${shown} |`);
    }
    for (const t of targets) {
      const value = t.value === undefined ? '' : ` (median ${formatNs(t.value)})`;
      lines.push(`| ${cell(t.label)}${value} | absolute target | | ${cell(t.target)} | ${t.verdict === 'missed' ? '**target missed**' : t.verdict} |`);
    }
  }
  const notes = Object.entries(s.notes).filter(([key]) => !key.startsWith('target: '));
  if (notes.length > 0) {
    lines.push('', '| measured | value |', '| --- | ---: |');
    for (const [key, value] of notes) lines.push(`| ${cell(key)} | ${cell(String(value))} |`);
  }
  lines.push('', '### Where supaguard is not faster', '');
  const missed = s.comparisons.filter((c) => checkTarget(s, c) === 'missed' || c.ratio < 1);
  const missedNotes = targets.filter((t) => t.verdict === 'missed');
  if (missed.length === 0 && missedNotes.length === 0) {
    lines.push('In this run every comparison is at or above 1× and no stated target was missed.', '');
  } else {
    for (const c of missed) {
      const why = checkTarget(s, c) === 'missed' ? `target missed (${c.target ?? ''})` : 'slower than the peer';
      lines.push(`- ${c.subject} vs ${c.peer}: ${ratio(c.ratio)} — ${why}`);
    }
    for (const t of missedNotes) lines.push(`- ${t.label}: target missed (${t.target})`);
    lines.push('');
  }
  lines.push(explanations[s.scenario] ?? 'No explanation written for this scenario yet: add one to `bench/report.ts`.');
  return lines.join('\n');
}

/** Renders the whole page. */
export function renderReport(latest: LatestLike): string {
  const m = latest.machine;
  const header = [
    '# Benchmarks',
    '',
    '<!-- Generated by bench/report.ts from bench/results/latest.json. Do not edit by hand: run `npm run bench` (or `npx tsx bench/report.ts`). -->',
    '',
    `Run on ${latest.date.slice(0, 10)} with Node ${latest.node} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB, ${m.arch}).`,
    '',
    '## Method',
    '',
    '- Every scenario is one `bench/*.bench.ts` file measured with [tinybench](https://github.com/tinylibs/tinybench); `npm run bench` runs each file in its own Node process (`--expose-gc`, `NODE_ENV=production`), one after another, so scenarios cannot disturb each other\'s heap or JIT state.',
    '- supaguard and the peer libraries are measured in the same run, in the same process, on the same data (same keys, tokens and requests).',
    '- Figures are per operation: the **median** and the **p99** of the samples (batched tasks are divided by the batch size). ops/s is derived from the mean.',
    '- **ratio = peer median / supaguard median**: above 1 means supaguard is faster, below 1 means the peer is faster.',
    '- A target is what the issue asked for; the result column is checked by this script from the JSON. "not machine-checkable" means the target is prose.',
    '- The machine is shared (CI may run at the same time), so medians drift between runs; where that matters, a scenario also reports paired rounds that alternate both tasks.',
    '- Reproduce: `npm run bench` (needs Redis for the L2 tasks, see CONTRIBUTING.md); the raw figures are in `bench/results/latest.json` and `latest.md`.',
    '',
    '## Scenarios',
    '',
    ...latest.scenarios.map((s) => `- [${s.scenario}](#${s.scenario})`),
  ];
  const load = renderLoadSection();
  const sections = [...latest.scenarios.map((s) => `\n${scenarioSection(s)}`), ...(load === undefined ? [] : [`\n${load}`])];
  return `${[...header, ...(load === undefined ? [] : ['- [load](#load)']), ...sections].join('\n')}\n`;
}

/** Writes docs/benchmarks.md; returns its path. */
export function writeReport(latest: LatestLike): string {
  writeFileSync(reportPath, renderReport(latest));
  return reportPath;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const latest = JSON.parse(readFileSync(new URL('./results/latest.json', import.meta.url), 'utf8')) as LatestLike;
  console.log(`wrote ${writeReport(latest)}`);
}
