/**
 * Shared tinybench harness: every `bench/*.bench.ts` file describes one
 * scenario with `defineScenario`, runs standalone (`npx tsx bench/x.bench.ts`)
 * and through `npm run bench`. Results are medians and p99 per operation in
 * nanoseconds, plus ratios between a supaguard task and each peer it names,
 * all measured in the same run on the same data.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, totalmem } from 'node:os';
import { Bench } from 'tinybench';

export interface TaskOptions {
  /** Operations per sample; the figures are divided by it. Use for sub-µs operations. @default 1 */
  batch?: number;
  /**
   * Tasks sharing a group are measured interleaved (a block of 50 samples of each in turn, after the sequential
   * tasks) instead of one after another: for I/O-bound comparisons whose latency drifts with the
   * machine's load over seconds (a shared box), so both sides see the same conditions.
   */
  group?: string;
}

export interface Comparison {
  /** The supaguard task. */
  subject: string;
  /** The peer (or baseline) task it is compared with. */
  peer: string;
  /** The goal, e.g. "≥ 10× faster" — printed, never asserted. */
  target?: string;
}

export interface ScenarioContext {
  /** Adds a task; `fn` is awaited when it returns a promise. */
  add(name: string, fn: () => unknown, options?: TaskOptions): void;
  /** Declares a ratio to report: median(peer) / median(subject). */
  compare(subject: string, peer: string, target?: string): void;
  /** Extra figures the scenario measured itself (hit ratios, heap bytes, …). */
  note(key: string, value: number | string): void;
  /** Registers a teardown (close clients, stop servers). */
  cleanup(fn: () => unknown): void;
}

export interface TaskResult {
  name: string;
  medianNs: number;
  p99Ns: number;
  meanNs: number;
  opsPerSec: number;
  samples: number;
}

export interface ScenarioResult {
  scenario: string;
  node: string;
  machine: { cpu: string; cores: number; memoryGiB: number; arch: string };
  date: string;
  tasks: TaskResult[];
  comparisons: Array<Comparison & { ratio: number }>;
  notes: Record<string, number | string>;
}

export interface ScenarioOptions {
  /** Milliseconds per task. @default 1000 */
  time?: number;
  /** Warm-up milliseconds per task. @default 250 */
  warmupTime?: number;
}

export type Scenario = (() => Promise<ScenarioResult>) & { scenarioName: string };

/**
 * Defines a scenario. When the file is the process's entry point, it runs
 * immediately and prints its table.
 */
export function defineScenario(
  name: string,
  setup: (ctx: ScenarioContext) => void | Promise<void>,
  options: ScenarioOptions = {},
): Scenario {
  const run = async (): Promise<ScenarioResult> => {
    const bench = new Bench({ name, time: options.time ?? 1_000, warmupTime: options.warmupTime ?? 250 });
    const batches = new Map<string, number>();
    const order: string[] = [];
    const groups = new Map<string, Array<{ name: string; fn: () => unknown }>>();
    const comparisons: Comparison[] = [];
    const notes: Record<string, number | string> = {};
    const cleanups: Array<() => unknown> = [];
    await setup({
      add(taskName, fn, taskOptions) {
        const batch = taskOptions?.batch ?? 1;
        batches.set(taskName, batch);
        order.push(taskName);
        const sample =
          batch === 1
            ? fn
            : async () => {
                for (let i = 0; i < batch; i++) {
                  const r = fn();
                  if (r instanceof Promise) await r;
                }
              };
        const group = taskOptions?.group;
        if (group === undefined) bench.add(taskName, sample);
        else groups.set(group, [...(groups.get(group) ?? []), { name: taskName, fn: sample }]);
      },
      compare(subject, peer, target) {
        comparisons.push(target === undefined ? { subject, peer } : { subject, peer, target });
      },
      note(key, value) {
        notes[key] = value;
      },
      cleanup(fn) {
        cleanups.push(fn);
      },
    });
    const latencies = new Map<string, { p50: number; p99: number; mean: number; samplesCount: number }>();
    try {
      await bench.run();
      const time = options.time ?? 1_000;
      const warmupTime = options.warmupTime ?? 250;
      for (const members of groups.values()) {
        for (const [name, samples] of await runInterleaved(members, time * members.length, warmupTime)) latencies.set(name, summarize(samples));
      }
    } finally {
      for (const fn of cleanups.reverse()) await fn();
    }
    for (const task of bench.tasks) {
      const r = task.result as { state: string; latency?: { p50: number; p99: number; mean: number; samplesCount?: number }; error?: unknown };
      if (!r.latency) throw new Error(`bench task "${task.name}" did not complete (${r.state}): ${String(r.error)}`);
      latencies.set(task.name, { ...r.latency, samplesCount: r.latency.samplesCount ?? 0 });
    }
    const tasks: TaskResult[] = order.map((name) => {
      const latency = latencies.get(name) as { p50: number; p99: number; mean: number; samplesCount: number };
      const batch = batches.get(name) ?? 1;
      const perOp = (ms: number): number => (ms * 1e6) / batch;
      return {
        name,
        medianNs: perOp(latency.p50),
        p99Ns: perOp(latency.p99),
        meanNs: perOp(latency.mean),
        opsPerSec: 1e9 / perOp(latency.mean),
        samples: latency.samplesCount,
      };
    });
    const byName = new Map(tasks.map((t) => [t.name, t]));
    const result: ScenarioResult = {
      scenario: name,
      node: process.version,
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), arch: arch() },
      date: new Date().toISOString(),
      tasks,
      comparisons: comparisons.map((c) => {
        const subject = byName.get(c.subject);
        const peer = byName.get(c.peer);
        if (!subject || !peer) throw new Error(`comparison names an unknown task: ${c.subject} vs ${c.peer}`);
        return { ...c, ratio: peer.medianNs / subject.medianNs };
      }),
      notes,
    };
    return result;
  };
  return Object.assign(run, { scenarioName: name });
}

/**
 * Samples per member and turn: short enough (milliseconds for I/O tasks) that load drifting over seconds
 * hits every member alike, long enough that each runs warm rather than in the caches the others left.
 */
const INTERLEAVE_BLOCK = 50;

/** Runs `members` in turn, a block of samples each, for `timeMs` after `warmupMs`; resolves to each one's sample times in ms. */
async function runInterleaved(members: ReadonlyArray<{ name: string; fn: () => unknown }>, timeMs: number, warmupMs: number): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(members.map((m) => [m.name, []]));
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) {
    for (const m of members) {
      const r = m.fn();
      if (r instanceof Promise) await r;
    }
  }
  const end = performance.now() + timeMs;
  while (performance.now() < end) {
    for (const m of members) {
      const own = samples.get(m.name) as number[];
      for (let i = 0; i < INTERLEAVE_BLOCK; i++) {
        const started = performance.now();
        const r = m.fn();
        if (r instanceof Promise) await r;
        own.push(performance.now() - started);
      }
    }
  }
  return samples;
}

/** Median, p99 and mean of sample times (ms), as tinybench reports them. */
function summarize(samples: number[]): { p50: number; p99: number; mean: number; samplesCount: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { p50: at(0.5), p99: at(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, samplesCount: sorted.length };
}

const fmt = (ns: number): string => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);

/** Renders a scenario as a markdown table. */
export function toMarkdown(result: ScenarioResult): string {
  const lines = [`### ${result.scenario}`, '', '| task | median | p99 | ops/s |', '| --- | ---: | ---: | ---: |'];
  for (const t of result.tasks) lines.push(`| ${t.name} | ${fmt(t.medianNs)} | ${fmt(t.p99Ns)} | ${Math.round(t.opsPerSec).toLocaleString('en-US')} |`);
  if (result.comparisons.length > 0) {
    lines.push('', '| supaguard task | compared with | ratio (peer median / ours) | target |', '| --- | --- | ---: | --- |');
    for (const c of result.comparisons) lines.push(`| ${c.subject} | ${c.peer} | ${c.ratio.toFixed(2)}× | ${c.target ?? ''} |`);
  }
  const noteKeys = Object.keys(result.notes);
  if (noteKeys.length > 0) {
    lines.push('', '| measured | value |', '| --- | ---: |');
    for (const k of noteKeys) lines.push(`| ${k} | ${String(result.notes[k])} |`);
  }
  return lines.join('\n');
}

/**
 * Call at the bottom of a bench file: runs the scenario when the file is executed
 * directly, prints the table and writes `bench/results/<name>.json`.
 */
export async function runIfMain(scenario: Scenario, moduleUrl: string): Promise<void> {
  const entry = process.argv[1];
  if (!entry || !moduleUrl.endsWith(entry.replace(/^.*\/bench\//, '/bench/'))) return;
  const result = await scenario();
  console.log(toMarkdown(result));
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`../results/${scenario.scenarioName}.json`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
}
