import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isConfigurationError } from '../../src/errors.js';
import { channels, subscribe, type MonitorAlertEvent } from '../../src/observe/channels.js';
import type { LogFields } from '../../src/observe/logger.js';
import { createPerformanceMonitor, DEFAULT_LATENCY_TARGETS, type PerformanceAlert } from '../../src/observe/performance-monitor.js';

function many(track: (ms: number) => void, n: number, ms: number): void {
  for (let i = 0; i < n; i++) track(ms);
}

describe('createPerformanceMonitor', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("defaults include the incident's targets", () => {
    expect(DEFAULT_LATENCY_TARGETS).toEqual({ auth: 50, authorization: 75 });
    const monitor = createPerformanceMonitor();
    monitor.track('auth', 10);
    expect(monitor.snapshot().operations.auth?.targetMs).toBe(50);
    expect(monitor.percentile).toBe(95);
    expect(monitor.windowMs).toBe(60_000);
    monitor.close();
  });

  it('a breach fires exactly one alert and, when it ends, exactly one recover', () => {
    const alerts: PerformanceAlert[] = [];
    const recovers: PerformanceAlert[] = [];
    const published: MonitorAlertEvent[] = [];
    const disposeAlert = subscribe(channels.monitorAlert, (e) => published.push(e));
    const disposeRecover = subscribe(channels.monitorRecover, (e) => published.push(e));
    const monitor = createPerformanceMonitor({
      windowMs: 600,
      slices: 6,
      minSamples: 5,
      onAlert: (a) => alerts.push(a),
      onRecover: (a) => recovers.push(a),
    });
    const auth = (ms: number): void => monitor.track('auth', ms);

    many(auth, 50, 10); // healthy slice
    vi.advanceTimersByTime(100);
    expect(alerts).toHaveLength(0);

    // Breach: p95 of the window goes far above 50 ms and stays there for several slices.
    for (let slice = 0; slice < 4; slice++) {
      many(auth, 50, 120);
      vi.advanceTimersByTime(100);
    }
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ operation: 'auth', percentile: 95, targetMs: 50, windowMs: 600 });
    expect(alerts[0]?.valueMs).toBeGreaterThan(118);
    expect(alerts[0]?.valueMs).toBeLessThan(122);
    expect(monitor.snapshot().operations.auth?.breached).toBe(true);

    // Back to healthy: once the slow samples have left the window, one recover.
    for (let slice = 0; slice < 8; slice++) {
      many(auth, 50, 10);
      vi.advanceTimersByTime(100);
    }
    expect(alerts).toHaveLength(1);
    expect(recovers).toHaveLength(1);
    expect(recovers[0]).toMatchObject({ operation: 'auth', targetMs: 50 });
    expect(recovers[0]?.valueMs).toBeLessThanOrEqual(50);
    expect(published).toHaveLength(2);
    expect(monitor.snapshot().operations.auth?.breached).toBe(false);
    disposeAlert();
    disposeRecover();
    monitor.close();
  });

  it('an idle window recovers once its samples have aged out', () => {
    const onRecover = vi.fn();
    const onAlert = vi.fn();
    const monitor = createPerformanceMonitor({ windowMs: 300, slices: 3, minSamples: 5, onAlert, onRecover });
    many((ms) => monitor.track('authorization', ms), 10, 200);
    vi.advanceTimersByTime(100);
    expect(onAlert).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1_000);
    expect(onRecover).toHaveBeenCalledTimes(1);
    expect(onRecover.mock.calls[0]?.[0]).toMatchObject({ samples: 0 });
    monitor.close();
  });

  it('needs minSamples before alerting, and never alerts for an operation without target', () => {
    const onAlert = vi.fn();
    const monitor = createPerformanceMonitor({ windowMs: 300, slices: 3, minSamples: 20, onAlert });
    many((ms) => monitor.track('auth', ms), 19, 500);
    many((ms) => monitor.track('report', ms), 100, 5_000);
    vi.advanceTimersByTime(100);
    expect(onAlert).not.toHaveBeenCalled();
    expect(monitor.snapshot().operations.report).toMatchObject({ count: 100, breached: false });
    expect(monitor.snapshot().operations.report?.targetMs).toBeUndefined();
    monitor.close();
  });

  it('snapshot reports rolling percentiles within 1 %', () => {
    const monitor = createPerformanceMonitor();
    for (let i = 1; i <= 1000; i++) monitor.track('authorization', i / 10); // 0.1 … 100 ms
    const stats = monitor.snapshot().operations.authorization;
    expect(stats?.count).toBe(1000);
    expect(stats?.p50).toBeCloseTo(50, -0.3);
    expect(Math.abs((stats?.p95 ?? 0) - 95) / 95).toBeLessThan(0.01);
    expect(Math.abs((stats?.p99 ?? 0) - 99) / 99).toBeLessThan(0.01);
    expect(Math.abs((stats?.max ?? 0) - 100) / 100).toBeLessThan(0.01);
    monitor.close();
  });

  it('drops bad samples and operations beyond maxOperations, without throwing', () => {
    const monitor = createPerformanceMonitor({ maxOperations: 2 });
    monitor.track('a', Number.NaN);
    monitor.track('a', -1);
    monitor.track('a', Infinity);
    monitor.track('a', 1);
    monitor.track('b', 1);
    monitor.track('c', 1);
    const snap = monitor.snapshot();
    expect(Object.keys(snap.operations)).toEqual(['a', 'b']);
    expect(snap.dropped).toBe(4);
    monitor.close();
  });

  it('rejects invalid options with E_CONFIG', () => {
    for (const options of [{ percentile: 0 }, { percentile: 101 }, { windowMs: -1 }, { targets: { auth: Number.NaN } }, { windowMs: 2, slices: 6 }]) {
      let caught: unknown;
      try {
        createPerformanceMonitor(options);
      } catch (err) {
        caught = err;
      }
      expect(isConfigurationError(caught), JSON.stringify(options)).toBe(true);
    }
  });

  it('a throwing callback is logged and does not stop evaluation', () => {
    const errors: LogFields[] = [];
    const noop = (): void => {};
    const monitor = createPerformanceMonitor({
      windowMs: 300,
      slices: 3,
      minSamples: 1,
      targets: { other: 1 },
      onAlert: () => {
        throw new Error('pager down');
      },
      logger: { debug: noop, info: noop, warn: noop, error: (f) => void errors.push(f) },
    });
    monitor.track('auth', 100);
    monitor.track('other', 100);
    vi.advanceTimersByTime(100);
    expect(errors).toHaveLength(2);
    expect(monitor.snapshot().operations.other?.breached).toBe(true);
    monitor.close();
  });
});

describe('measure', () => {
  it('tracks resolved and rejected calls and passes results through', async () => {
    const monitor = createPerformanceMonitor();
    const seen: string[] = [];
    const dispose = subscribe(channels.monitorOperation, (e) => seen.push(e.operation));
    await expect(monitor.measure('auth', async () => 'ok')).resolves.toBe('ok');
    await expect(monitor.measure('auth', () => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    await expect(monitor.measure('auth', () => 7)).resolves.toBe(7);
    dispose();
    expect(monitor.snapshot().operations.auth?.count).toBe(3);
    expect(seen).toEqual(['auth', 'auth', 'auth']);
    monitor.close();
  });
});
