/**
 * Keeps the last N latency samples in a ring buffer and reports percentiles
 * on demand, so recording costs one array write.
 *
 * @module
 */

/** Percentiles of the recorded samples, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * A fixed-size latency reservoir.
 *
 * @example
 * ```ts
 * const rec = new LatencyRecorder(1024);
 * rec.record(0.4);
 * rec.summary().p99Ms;
 * ```
 */
export class LatencyRecorder {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;
  private total = 0;

  constructor(capacity = 1024) {
    this.samples = new Float64Array(capacity);
  }

  /** Adds one sample in milliseconds. */
  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.filled < this.samples.length) this.filled++;
    this.total++;
  }

  /** p50 and p99 of the samples kept, and how many were ever recorded. */
  summary(): LatencySummary {
    if (this.filled === 0) return { count: 0, p50Ms: 0, p99Ms: 0 };
    const sorted = Array.from(this.samples.subarray(0, this.filled)).sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return { count: this.total, p50Ms: at(0.5), p99Ms: at(0.99) };
  }
}
