import { AsyncResource } from 'node:async_hooks';
import { ConfigurationError, TimeoutError, isSupaguardError } from '../errors.js';
import { resolveBudget } from '../resilience/deadline.js';
import { channels, publish } from './channels.js';

/**
 * One audit record. Only `action` is required; `at` defaults to the time of
 * {@link AuditLog.log}. Never put a token or key in an entry.
 */
export interface AuditEntry {
  /** Milliseconds since the epoch. @default Date.now() at log time */
  at?: number;
  /** Who acted (the verified `sub`), when known. */
  userId?: string | null;
  /** What was attempted, e.g. `project.read`. */
  action: string;
  /** What it was attempted on. */
  resourceId?: string | null;
  /** The result, e.g. `allow`, `deny`, `error`. */
  outcome?: string | null;
  /** Correlation id of the HTTP request. */
  requestId?: string | null;
  /** Anything else worth keeping; stored as JSON by the Postgres sink. */
  meta?: Record<string, unknown> | null;
}

/** An {@link AuditEntry} as the sink receives it: `at` is always set. */
export type AuditRecord = AuditEntry & { at: number };

/** Where batches go. A sink writes a whole batch or throws; it is retried on failure. */
export interface AuditSink {
  /**
   * Persists `batch` (never empty). Must throw (reject) when nothing or only
   * part was written; the batch is then retried, so a sink should be idempotent
   * or accept at-least-once delivery.
   */
  write(batch: readonly AuditRecord[], options: { signal: AbortSignal }): Promise<void>;
}

/** Options for {@link createAuditLog}. */
export interface AuditLogOptions {
  /** Destination of the batches, e.g. `postgresAuditSink(...)` from `supaguard/postgres`. */
  sink: AuditSink;
  /** Entries per write. @default 100 */
  batchSize?: number;
  /** Longest an entry waits before its batch is written. @default 1000 */
  flushMs?: number;
  /** Entries held in memory (including the batch being written); past it new entries are dropped and counted. @default 10000 */
  maxBuffer?: number;
  /** Attempts per batch before it is given up and counted as dropped. @default 8 */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt up to `maxRetryDelayMs`. @default 100 */
  retryDelayMs?: number;
  /** Cap of the retry delay. @default 5000 */
  maxRetryDelayMs?: number;
  /** Time limit of one sink write. @default 5000 */
  writeTimeoutMs?: number;
}

/** Counters reported by {@link AuditLog.stats}. */
export interface AuditLogStats {
  /** Entries waiting in memory, including a batch being written. */
  buffered: number;
  /** Entries the sink confirmed. */
  written: number;
  /** Entries given up: buffer full, closed, or a batch past `maxAttempts`. */
  dropped: number;
  /** Batches the sink confirmed. */
  batches: number;
  /** Failed sink writes (each retry that failed counts once). */
  failedWrites: number;
  /** Code or name of the last write failure, if any (never its message, which may carry data). */
  lastError: string | undefined;
  /** True once {@link AuditLog.close} was called. */
  closed: boolean;
}

/** Listener for failed writes; the batch will be retried unless `willRetry` is false. */
export type AuditErrorListener = (error: unknown, info: { batchSize: number; attempt: number; willRetry: boolean }) => void;

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new ConfigurationError(name, 'must be a positive integer');
  return v;
}

/**
 * An in-memory, bounded, batching audit log. {@link AuditLog.log} is synchronous
 * and never waits for the sink, so it is safe on the request path.
 * Create one with {@link createAuditLog}.
 */
export class AuditLog {
  readonly #sink: AuditSink;
  readonly #batchSize: number;
  readonly #flushMs: number;
  readonly #maxBuffer: number;
  readonly #maxAttempts: number;
  readonly #retryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #writeTimeoutMs: number;
  #buffer: AuditRecord[] = [];
  #written = 0;
  #dropped = 0;
  #batches = 0;
  #failedWrites = 0;
  #lastError: string | undefined;
  #closed = false;
  #draining: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryWake: (() => void) | undefined;
  readonly #listeners = new Set<AuditErrorListener>();
  // Flushes are scheduled from request handlers; binding them to the context the
  // log was created in keeps a request's deadline from bounding the background write.
  readonly #scheduleDrain: () => void;

  constructor(options: AuditLogOptions) {
    if (typeof options?.sink?.write !== 'function') throw new ConfigurationError('sink', 'must have a write(batch) method');
    this.#sink = options.sink;
    this.#batchSize = positiveInt('batchSize', options.batchSize, 100);
    this.#flushMs = positiveInt('flushMs', options.flushMs, 1_000);
    this.#maxBuffer = positiveInt('maxBuffer', options.maxBuffer, 10_000);
    this.#maxAttempts = positiveInt('maxAttempts', options.maxAttempts, 8);
    this.#retryDelayMs = positiveInt('retryDelayMs', options.retryDelayMs, 100);
    this.#maxRetryDelayMs = positiveInt('maxRetryDelayMs', options.maxRetryDelayMs, 5_000);
    this.#writeTimeoutMs = positiveInt('writeTimeoutMs', options.writeTimeoutMs, 5_000);
    if (this.#maxBuffer < this.#batchSize) throw new ConfigurationError('maxBuffer', 'must be at least batchSize');
    this.#scheduleDrain = AsyncResource.bind(() => {
      this.#draining ??= this.#drain().finally(() => {
        this.#draining = undefined;
      });
    });
  }

  /**
   * Queues one entry and returns at once. When the buffer is full the entry is
   * dropped and counted in `stats().dropped`; this never throws for a full
   * buffer or a failing sink.
   *
   * @example
   * ```ts
   * audit.log({ userId: req.auth.userId, action: 'project.read', resourceId: id, outcome: 'allow' });
   * ```
   */
  log(entry: AuditEntry): void {
    if (this.#closed || this.#buffer.length >= this.#maxBuffer) {
      this.#dropped++;
      publish(channels.auditDrop, { count: 1, reason: this.#closed ? 'shutdown' : 'queue-full' });
      return;
    }
    this.#buffer.push(entry.at === undefined ? { ...entry, at: Date.now() } : (entry as AuditRecord));
    if (channels.auditQueue.hasSubscribers) publish(channels.auditQueue, { depth: this.#buffer.length });
    if (this.#buffer.length >= this.#batchSize) {
      if (this.#draining === undefined) this.#scheduleDrain();
    } else if (this.#timer === undefined && this.#draining === undefined) {
      this.#timer = setTimeout(this.#scheduleDrain, this.#flushMs);
      this.#timer.unref();
    }
  }

  /**
   * Writes everything buffered now (retrying failed batches within the limits)
   * and resolves when the buffer is empty or the remaining batches were given up.
   *
   * @example
   * ```ts
   * await audit.flush();
   * ```
   */
  async flush(): Promise<void> {
    while (this.#buffer.length > 0) {
      // Skip a pending back-off: an explicit flush retries at once.
      this.#retryWake?.();
      if (this.#draining === undefined) this.#scheduleDrain();
      await this.#draining;
    }
  }

  /**
   * Stops accepting entries (later ones count as dropped), writes what is
   * buffered and stops the timers. Idempotent.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => audit.close().then(() => process.exit(0)));
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    this.#clearTimer();
  }

  /** Counters for dashboards and tests. @example `if (audit.stats().dropped > 0) alert()` */
  stats(): AuditLogStats {
    return {
      buffered: this.#buffer.length,
      written: this.#written,
      dropped: this.#dropped,
      batches: this.#batches,
      failedWrites: this.#failedWrites,
      lastError: this.#lastError,
      closed: this.#closed,
    };
  }

  /**
   * Calls `listener` after every failed sink write. Returns a disposer.
   *
   * @example
   * ```ts
   * const off = audit.onError((err, { willRetry }) => logger.warn({ code: err.code, willRetry }, 'audit write failed'));
   * ```
   */
  onError(listener: AuditErrorListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #drain(): Promise<void> {
    this.#clearTimer();
    // Start on a later turn: the sink's own synchronous work (building the
    // query) must not run on the stack of the request that logged.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#buffer.length > 0) {
      // The batch stays at the head of the buffer until the sink confirms it,
      // so entries are only lost by an explicit, counted drop.
      const batch = this.#buffer.slice(0, this.#batchSize);
      const ok = await this.#writeWithRetry(batch);
      this.#buffer.splice(0, batch.length);
      if (ok) {
        this.#written += batch.length;
        this.#batches++;
      } else {
        this.#dropped += batch.length;
        publish(channels.auditDrop, { count: batch.length, reason: 'write-failed' });
      }
      if (channels.auditQueue.hasSubscribers) publish(channels.auditQueue, { depth: this.#buffer.length });
      // A partial batch waits for flushMs unless the log is closing.
      if (!this.#closed && this.#buffer.length < this.#batchSize) break;
    }
    if (this.#buffer.length > 0 && this.#timer === undefined) {
      this.#timer = setTimeout(this.#scheduleDrain, this.#flushMs);
      this.#timer.unref();
    }
  }

  async #writeWithRetry(batch: AuditRecord[]): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#writeOnce(batch);
        return true;
      } catch (err) {
        this.#failedWrites++;
        this.#lastError = isSupaguardError(err) ? err.code : ((err as { code?: string })?.code ?? (err as Error)?.name ?? 'Error');
        const willRetry = attempt < this.#maxAttempts;
        for (const listener of this.#listeners) {
          try {
            listener(err, { batchSize: batch.length, attempt, willRetry });
          } catch {
            // A listener must not break the log.
          }
        }
        if (!willRetry) return false;
        await this.#backoff(Math.min(this.#maxRetryDelayMs, this.#retryDelayMs * 2 ** (attempt - 1)));
      }
    }
  }

  async #writeOnce(batch: AuditRecord[]): Promise<void> {
    const { ms } = resolveBudget(this.#writeTimeoutMs, 'audit.write');
    const controller = new AbortController();
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new TimeoutError({ operation: 'audit.write', elapsedMs: Math.round(performance.now() - started), timeoutMs: ms });
        controller.abort(err);
        reject(err);
      }, ms);
      timer.unref();
    });
    try {
      const write = this.#sink.write(batch, { signal: controller.signal });
      write.catch(() => undefined);
      await Promise.race([write, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(this.#retryTimer);
        this.#retryTimer = undefined;
        this.#retryWake = undefined;
        resolve();
      };
      this.#retryWake = wake;
      this.#retryTimer = setTimeout(wake, ms);
      this.#retryTimer.unref();
    });
  }
}

/**
 * Creates an {@link AuditLog}: entries are buffered in memory and written in
 * batches by a background task, never on the request path. The buffer is
 * bounded (`maxBuffer`, drops counted); a failed batch is retried with
 * exponential back-off up to `maxAttempts` while new entries keep buffering;
 * `close()` writes what is left.
 *
 * @param options - See {@link AuditLogOptions}.
 * @throws {@link ConfigurationError} when the sink or a limit is invalid.
 * @example
 * ```ts
 * import { createAuditLog } from 'supaguard';
 * import { postgresAuditSink } from 'supaguard/postgres';
 *
 * const audit = createAuditLog({ sink: postgresAuditSink({ pool, table: 'audit_log' }), batchSize: 200, flushMs: 500 });
 * audit.log({ userId, action: 'project.delete', resourceId, outcome: 'allow' });
 * ```
 */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  return new AuditLog(options);
}
