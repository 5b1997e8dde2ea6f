/** Latency percentiles in milliseconds over the most recent calls. @example `const { p50, p99 } = breaker.stats().latencyMs` */
export interface LatencySummary {
  /** Number of samples the figures are computed from (at most the window size). */
  readonly samples: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * A fixed-size ring of the most recent latencies: memory stays constant however
 * many calls are recorded (opossum keeps every latency of its rolling window).
 *
 * @example
 * ```ts
 * const window = new LatencyWindow(256);
 * window.record(12.5);
 * window.summary().p99;
 * ```
 */
export class LatencyWindow {
  private readonly samplesMs: Float64Array;
  private next = 0;
  private count = 0;

  constructor(size: number) {
    this.samplesMs = new Float64Array(Math.max(1, Math.floor(size)));
  }

  /** Adds one latency in milliseconds, overwriting the oldest when full. */
  record(ms: number): void {
    this.samplesMs[this.next] = ms;
    this.next = (this.next + 1) % this.samplesMs.length;
    if (this.count < this.samplesMs.length) this.count++;
  }

  /** Percentiles (nearest rank) over the recorded samples; all zero when empty. */
  summary(): LatencySummary {
    if (this.count === 0) return { samples: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const sorted = this.samplesMs.slice(0, this.count).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
    return { samples: this.count, mean: sum / this.count, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
  }
}
