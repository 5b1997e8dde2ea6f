import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { ConfigurationError } from '../errors.js';
import { channels, publish, type MonitorAlertEvent } from './channels.js';
import { createSafeLogger, type Logger } from './logger.js';

/**
 * Latency targets of the incident's strategy, in milliseconds: verifying a token
 * (`auth`) within 50 ms and answering an authorization check within 75 ms.
 */
export const DEFAULT_LATENCY_TARGETS: Readonly<Record<string, number>> = Object.freeze({ auth: 50, authorization: 75 });

/** An alert or recovery: the watched percentile of one operation against its target. */
export interface PerformanceAlert extends MonitorAlertEvent {
  /** The rolling window the percentile covers, in ms. */
  readonly windowMs: number;
}

/** Options for {@link createPerformanceMonitor}. */
export interface PerformanceMonitorOptions {
  /** Target per operation, in ms; merged over {@link DEFAULT_LATENCY_TARGETS}. Operations without a target are tracked but never alert. */
  targets?: Record<string, number>;
  /** The percentile compared with the target. @default 95 */
  percentile?: number;
  /** Length of the rolling window. @default 60_000 */
  windowMs?: number;
  /** The window is kept as this many slices; the state is evaluated at the end of each slice. @default 6 */
  slices?: number;
  /** Fewer samples than this in the window never raise an alert. @default 20 */
  minSamples?: number;
  /** Distinct operations kept; samples of further operations are dropped. @default 100 */
  maxOperations?: number;
  /** Called once when an operation starts breaching its target. */
  onAlert?: (alert: PerformanceAlert) => void;
  /** Called once when a breaching operation is back within its target (or has no samples left). */
  onRecover?: (alert: PerformanceAlert) => void;
  /** pino-shaped logger: `warn` on alert, `info` on recovery. @default silent */
  logger?: Logger;
}

/** Rolling figures for one operation, in ms. */
export interface OperationStats {
  /** Samples in the window. */
  count: number;
  /** Median. */
  p50: number;
  /** 95th percentile. */
  p95: number;
  /** 99th percentile. */
  p99: number;
  /** Slowest sample. */
  max: number;
  /** Arithmetic mean. */
  mean: number;
  /** The operation's target, when it has one. */
  targetMs?: number;
  /** `true` while the operation is in an alert. */
  breached: boolean;
}

/** Figures for every tracked operation; `dropped` counts rejected samples (bad values, too many operations). */
export interface PerformanceSnapshot {
  /** Figures per operation name. */
  operations: Record<string, OperationStats>;
  /** Samples rejected since creation. */
  dropped: number;
}

// Samples are recorded in microseconds, 2 significant digits (1 % precision), up to 1 h.
const HIGHEST_US = 3_600_000_000;
const newHistogram = (): RecordableHistogram => createHistogram({ lowest: 1, highest: HIGHEST_US, figures: 2 });

class OperationWindow {
  readonly slices: RecordableHistogram[];
  current: RecordableHistogram;
  private index = 0;
  breached = false;
  constructor(count: number) {
    this.slices = Array.from({ length: count }, newHistogram);
    this.current = this.slices[0] as RecordableHistogram;
  }
  merge(into: RecordableHistogram): RecordableHistogram {
    into.reset();
    for (const slice of this.slices) into.add(slice);
    return into;
  }
  rotate(): void {
    this.index = (this.index + 1) % this.slices.length;
    this.current = this.slices[this.index] as RecordableHistogram;
    this.current.reset();
  }
}

function positive(field: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigurationError(field, 'must be a positive finite number');
  return v;
}

/**
 * Tracks operation latencies in rolling HdrHistograms (Node's `perf_hooks`) and raises
 * one alert when an operation's chosen percentile exceeds its target over the window,
 * then one recovery when it is back. Samples are also published on
 * `supaguard:monitor:operation` for the Prometheus and OpenTelemetry exporters.
 */
export class PerformanceMonitor {
  /** The percentile compared with the targets. */
  readonly percentile: number;
  /** Length of the rolling window, in ms. */
  readonly windowMs: number;
  private readonly targets: Record<string, number>;
  private readonly minSamples: number;
  private readonly maxOperations: number;
  private readonly sliceCount: number;
  private readonly sliceMs: number;
  private readonly windows = new Map<string, OperationWindow>();
  private readonly scratch = newHistogram();
  private readonly options: PerformanceMonitorOptions;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private dropped = 0;

  constructor(options: PerformanceMonitorOptions = {}) {
    this.options = options;
    this.percentile = positive('percentile', options.percentile, 95);
    if (this.percentile > 100) throw new ConfigurationError('percentile', 'must be at most 100');
    this.windowMs = positive('windowMs', options.windowMs, 60_000);
    this.sliceCount = Math.round(positive('slices', options.slices, 6));
    this.sliceMs = this.windowMs / this.sliceCount;
    if (this.sliceMs < 1) throw new ConfigurationError('windowMs', 'must allow slices of at least 1 ms');
    this.minSamples = Math.round(positive('minSamples', options.minSamples, 20));
    this.maxOperations = Math.round(positive('maxOperations', options.maxOperations, 100));
    this.targets = { ...DEFAULT_LATENCY_TARGETS };
    for (const [operation, ms] of Object.entries(options.targets ?? {})) this.targets[operation] = positive(`targets.${operation}`, ms, 0);
    this.log = createSafeLogger(options.logger);
  }

  /**
   * Records one sample. Non-finite or negative values are dropped (counted in
   * `snapshot().dropped`), never thrown: observability must not break a request.
   */
  track(operation: string, ms: number): void {
    if (!(ms >= 0) || ms === Infinity) {
      this.dropped++;
      return;
    }
    let window = this.windows.get(operation);
    if (window === undefined) {
      if (this.windows.size >= this.maxOperations) {
        this.dropped++;
        return;
      }
      window = new OperationWindow(this.sliceCount);
      this.windows.set(operation, window);
      this.timer ??= setInterval(() => this.endSlice(), this.sliceMs).unref();
    }
    window.current.record(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))));
    if (channels.monitorOperation.hasSubscribers) channels.monitorOperation.publish({ operation, durationMs: ms });
  }

  /** Runs `fn` and tracks how long it took, whether it resolved or threw. */
  async measure<T>(operation: string, fn: () => T | Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.track(operation, performance.now() - started);
    }
  }

  /** Rolling figures per operation over the window (the current slice included). */
  snapshot(): PerformanceSnapshot {
    const operations: Record<string, OperationStats> = {};
    for (const [operation, window] of this.windows) {
      const h = window.merge(this.scratch);
      const ms = (us: number): number => (h.count === 0 ? 0 : us / 1000);
      const targetMs = this.targets[operation];
      operations[operation] = {
        count: h.count,
        p50: ms(h.percentile(50)),
        p95: ms(h.percentile(95)),
        p99: ms(h.percentile(99)),
        max: ms(h.max),
        mean: ms(h.mean),
        ...(targetMs === undefined ? {} : { targetMs }),
        breached: window.breached,
      };
    }
    return { operations, dropped: this.dropped };
  }

  /** Stops the slice timer and forgets every sample. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.windows.clear();
  }

  // At the end of each slice: compare the full window with the targets, then start a new slice.
  private endSlice(): void {
    for (const [operation, window] of this.windows) {
      const targetMs = this.targets[operation];
      if (targetMs !== undefined) this.evaluate(operation, window, targetMs);
      window.rotate();
    }
  }

  private evaluate(operation: string, window: OperationWindow, targetMs: number): void {
    const h = window.merge(this.scratch);
    const samples = h.count;
    const valueMs = samples === 0 ? 0 : h.percentile(this.percentile) / 1000;
    const alert: PerformanceAlert = { operation, percentile: this.percentile, valueMs, targetMs, samples, windowMs: this.windowMs };
    if (!window.breached && samples >= this.minSamples && valueMs > targetMs) {
      window.breached = true;
      this.log.warn({ ...alert }, `${operation} p${this.percentile} ${valueMs.toFixed(1)} ms exceeds its ${targetMs} ms target`);
      publish(channels.monitorAlert, alert);
      this.notify(this.options.onAlert, alert);
    } else if (window.breached && (samples === 0 || (samples >= this.minSamples && valueMs <= targetMs))) {
      window.breached = false;
      this.log.info({ ...alert }, `${operation} p${this.percentile} is back within its ${targetMs} ms target`);
      publish(channels.monitorRecover, alert);
      this.notify(this.options.onRecover, alert);
    }
  }

  private notify(callback: ((alert: PerformanceAlert) => void) | undefined, alert: PerformanceAlert): void {
    try {
      callback?.(alert);
    } catch (err) {
      // A failing callback must not stop the other operations' evaluation.
      this.log.error({ err, operation: alert.operation }, 'performance monitor callback threw');
    }
  }
}

/**
 * Creates a {@link PerformanceMonitor}. Defaults watch p95 over 60 s against
 * {@link DEFAULT_LATENCY_TARGETS}; the slice timer is unref'd and starts with the first sample.
 *
 * @param options - targets, percentile, window, callbacks
 * @throws {@link ConfigurationError} on a non-positive percentile, window or target, or a percentile above 100
 * @example
 * ```ts
 * const monitor = createPerformanceMonitor({
 *   targets: { auth: 50, authorization: 75 },
 *   onAlert: (a) => log.warn(a, `${a.operation} p95 over target`),
 *   onRecover: (a) => log.info(a, `${a.operation} recovered`),
 * });
 * const user = await monitor.measure('auth', () => verifier.verify(token));
 * monitor.track('authorization', elapsedMs);
 * ```
 */
export function createPerformanceMonitor(options: PerformanceMonitorOptions = {}): PerformanceMonitor {
  return new PerformanceMonitor(options);
}
