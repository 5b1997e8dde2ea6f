/**
 * Keeps the last N latency samples in a ring buffer and reports percentiles
 * on demand, so recording costs one array write.
 *
 * @module
 */
import { LatencyWindow } from '../resilience/latency-window.js';

/** Percentiles of the recorded samples, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * A fixed-size latency reservoir that also counts every sample ever recorded.
 * The ring itself is the resilience module's {@link LatencyWindow}.
 *
 * @example
 * ```ts
 * const rec = new LatencyRecorder(1024);
 * rec.record(0.4);
 * rec.summary().p99Ms;
 * ```
 */
export class LatencyRecorder {
  private readonly window: LatencyWindow;
  private total = 0;

  constructor(capacity = 1024) {
    this.window = new LatencyWindow(capacity);
  }

  /** Adds one sample in milliseconds. */
  record(ms: number): void {
    this.window.record(ms);
    this.total++;
  }

  /** p50 and p99 of the samples kept, and how many were ever recorded. */
  summary(): LatencySummary {
    const { p50, p99 } = this.window.summary();
    return { count: this.total, p50Ms: p50, p99Ms: p99 };
  }
}
