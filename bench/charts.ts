/**
 * Generates one SVG bar chart per scenario (median per operation, p99 as a thin
 * marker) from `bench/results/latest.json` into `docs/benchmarks/<scenario>.svg`.
 * No figure is typed by hand: `npm run bench` calls this after each run, and
 * `npm run bench:charts` regenerates the charts from the committed JSON.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ScenarioResult } from './lib/harness.js';

interface LatestLike {
  node: string;
  machine: ScenarioResult['machine'];
  scenarios: ScenarioResult[];
}

const chartsDir = fileURLToPath(new URL('../docs/benchmarks/', import.meta.url));

const escapeXml = (text: string): string => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Human units for nanoseconds. */
export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

/**
 * Renders a scenario as a horizontal bar chart. Bars are on a linear scale of the
 * median (grey: a peer named by a comparison); every bar is labelled with its median and p99 so short bars stay readable.
 */
export function renderChart(scenario: ScenarioResult, node: string, machine: ScenarioResult['machine']): string {
  const rowHeight = 34;
  const labelWidth = 390;
  const barWidth = 360;
  const valueWidth = 200;
  const top = 58;
  const width = labelWidth + barWidth + valueWidth + 20;
  const height = top + scenario.tasks.length * rowHeight + 40;
  const max = Math.max(...scenario.tasks.map((t) => t.medianNs), 1);
  // Tasks a comparison names as the peer are drawn grey, supaguard's own green.
  const peers = new Set(scenario.comparisons.map((c) => c.peer));
  const subjects = new Set(scenario.comparisons.map((c) => c.subject));
  const rows = scenario.tasks.map((task, i) => {
    const y = top + i * rowHeight;
    const w = Math.max(2, (task.medianNs / max) * barWidth);
    const supaguard = subjects.has(task.name) || !peers.has(task.name);
    return [
      `<text x="${labelWidth - 10}" y="${y + 20}" text-anchor="end">${escapeXml(task.name)}</text>`,
      `<rect x="${labelWidth}" y="${y + 6}" width="${w.toFixed(1)}" height="${rowHeight - 12}" rx="3" fill="${supaguard ? '#3ecf8e' : '#8a8f98'}"/>`,
      `<text x="${labelWidth + barWidth + 10}" y="${y + 20}">${escapeXml(`${formatNs(task.medianNs)} (p99 ${formatNs(task.p99Ns)})`)}</text>`,
    ].join('\n  ');
  });
  const ratios = scenario.comparisons.map((c) => `${c.subject} vs ${c.peer}: ${c.ratio.toFixed(1)}×`).join(' · ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">
  <title>${escapeXml(`${scenario.scenario}: median time per operation`)}</title>
  <rect width="100%" height="100%" fill="#ffffff"/>
  <text x="10" y="24" font-size="16" font-weight="600">${escapeXml(`${scenario.scenario} — median per operation (lower is better)`)}</text>
  <text x="10" y="44" fill="#555">${escapeXml(`Node ${node} · ${machine.cpu} · ${machine.cores} cores`)}</text>
  ${rows.join('\n  ')}
  <text x="10" y="${height - 14}" fill="#555" font-size="11">${escapeXml(ratios || 'no comparison declared')}</text>
</svg>
`;
}

/** Writes one SVG per scenario; returns the written paths. */
export function writeCharts(latest: LatestLike): string[] {
  mkdirSync(chartsDir, { recursive: true });
  return latest.scenarios.map((scenario) => {
    const path = `${chartsDir}${scenario.scenario}.svg`;
    writeFileSync(path, renderChart(scenario, latest.node, latest.machine));
    return path;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const latest = JSON.parse(readFileSync(new URL('./results/latest.json', import.meta.url), 'utf8')) as LatestLike;
  for (const path of writeCharts(latest)) console.log(`wrote ${path}`);
}
