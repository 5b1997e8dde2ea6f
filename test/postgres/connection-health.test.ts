import { describe, expect, it } from 'vitest';
import { isTimeoutError } from '../../src/errors.js';
import { reconnectDelay, startHealthCheck } from '../../src/postgres/connection-health.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('startHealthCheck', () => {
  it('keeps probing a healthy connection and never reports', async () => {
    let probes = 0;
    const health = startHealthCheck({ query: async () => void probes++ }, 10);
    let failed = false;
    void health.failed.then(() => (failed = true));
    await sleep(120);
    health.stop();
    expect(probes).toBeGreaterThan(2);
    expect(failed).toBe(false);
  });

  it('reports a probe that hangs with a TimeoutError', async () => {
    const health = startHealthCheck({ query: () => new Promise(() => undefined) }, 20);
    const err = await health.failed;
    health.stop();
    expect(isTimeoutError(err)).toBe(true);
    expect(err).toMatchObject({ operation: 'postgres.listener.healthCheck', timeoutMs: 20 });
  });

  it('reports a probe that fails', async () => {
    const health = startHealthCheck({ query: async () => Promise.reject(new Error('gone')) }, 10);
    expect(await health.failed).toMatchObject({ message: 'gone' });
    health.stop();
  });

  it('does nothing with an interval of 0 or after stop()', async () => {
    let probes = 0;
    startHealthCheck({ query: async () => void probes++ }, 0);
    const stopped = startHealthCheck({ query: async () => void probes++ }, 10);
    stopped.stop();
    await sleep(50);
    expect(probes).toBe(0);
  });
});

describe('reconnectDelay', () => {
  it('doubles up to the maximum, with jitter between half and all of it', () => {
    for (let attempt = 0; attempt < 30; attempt += 1) {
      const ceiling = Math.min(5_000, 100 * 2 ** attempt);
      const delay = reconnectDelay(attempt, 100, 5_000);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  });
});
