// Load results are written as JSON next to the micro-benchmark results, one file per
// scenario and Node major version, and rendered into docs/benchmarks.md by bench/report.ts.
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One variant's figures in a frameworks load run (medians over rounds; counts summed). */
export interface LoadSample {
  reqPerSec: number;
  cpuUsPerReq: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** Where `writeLoadResult(name, …)` writes: `bench/results/load-<name>-node<major>.json`. */
export const loadResultsDir = fileURLToPath(new URL('../results/', import.meta.url));

/** Writes one load run's figures with the date, Node version and machine; returns the file path. */
export function writeLoadResult(name: string, figures: Record<string, unknown>): string {
  mkdirSync(loadResultsDir, { recursive: true });
  const major = process.versions.node.split('.')[0];
  const file = `${loadResultsDir}load-${name}-node${major}.json`;
  const machine = { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) };
  writeFileSync(file, `${JSON.stringify({ scenario: `load-${name}`, date: new Date().toISOString(), node: process.version, machine, ...figures }, null, 2)}\n`);
  return file;
}
