import { TimeoutError } from '../errors.js';
import { resolveBudget } from '../resilience/deadline.js';
import type { PgListenClient } from './pg-client.js';

/** A running health check; see {@link startHealthCheck}. */
export interface HealthCheck {
  /** Resolves with the error of the first probe that fails or hangs. */
  readonly failed: Promise<unknown>;
  /** Stops probing (idempotent). */
  stop(): void;
}

/**
 * Runs `SELECT 1` on `client` every `everyMs`; a probe that fails or takes longer
 * than `min(5000, everyMs)` resolves `failed`. A half-open TCP connection (peer gone
 * without a FIN) otherwise looks healthy until keep-alive gives up, minutes later.
 *
 * @param everyMs - Interval; `0` never probes.
 * @example
 * ```ts
 * const health = startHealthCheck(client, 30_000);
 * const cause = await Promise.race([connectionLost, health.failed]);
 * health.stop();
 * ```
 */
export function startHealthCheck(client: Pick<PgListenClient, 'query'>, everyMs: number): HealthCheck {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let report: (err: unknown) => void = () => undefined;
  const failed = new Promise<unknown>((resolve) => (report = resolve));
  const probe = async (): Promise<void> => {
    let deadline: NodeJS.Timeout | undefined;
    try {
      const { ms } = resolveBudget(Math.min(5_000, everyMs), 'postgres.listener.healthCheck');
      await Promise.race([
        client.query('SELECT 1'),
        new Promise((_, reject) => {
          deadline = setTimeout(() => reject(new TimeoutError({ operation: 'postgres.listener.healthCheck', elapsedMs: ms, timeoutMs: ms })), ms);
          deadline.unref();
        }),
      ]);
      if (!stopped) schedule();
    } catch (err) {
      if (!stopped) report(err);
    } finally {
      clearTimeout(deadline);
    }
  };
  const schedule = (): void => {
    timer = setTimeout(() => void probe(), everyMs);
    timer.unref();
  };
  if (everyMs > 0) schedule();
  return {
    failed,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Exponential backoff with equal jitter: between half and all of
 * `min(maxMs, baseMs × 2^attempt)`, so a fleet does not reconnect in lockstep.
 *
 * @example
 * ```ts
 * await sleep(reconnectDelay(attempt++, 100, 5_000));
 * ```
 */
export function reconnectDelay(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
