import { AsyncLocalStorage } from 'node:async_hooks';
import { ConfigurationError, TimeoutError, type DatabaseError, type SupaguardError } from '../errors.js';
import { abortError, resolveBudget } from '../resilience/deadline.js';
import { DEFAULT_INVALIDATION_CHANNEL } from './invalidation-sql.js';
import { parseInvalidationPayload, type InvalidationMessage, type InvalidationScope } from './invalidation-message.js';
import { reconnectDelay, startHealthCheck } from './connection-health.js';
import { loadPg, type PgListenClient, type PgNotification } from './pg-client.js';
import { toDatabaseError } from './queryable.js';

// Captured at module load, outside any request: the listener's background loop
// runs in this context so an ambient `withDeadline` of whoever created it does
// not leak into reconnects or into the cache calls a notification triggers.
const runDetached = AsyncLocalStorage.snapshot();

/**
 * What the listener drives: an `AuthorizationCache` fits, as does anything with
 * these two methods.
 */
export interface InvalidationTarget {
  invalidate(scope: InvalidationScope): unknown;
  clear(): unknown;
}

/** Options for {@link postgresInvalidationListener}. */
export interface PostgresInvalidationListenerOptions {
  /** Postgres URL; the listener creates its own dedicated `pg.Client` from it. */
  connectionString?: string | undefined;
  /** Or a factory returning a new, unconnected client (called again after every disconnect). */
  client?: (() => PgListenClient | Promise<PgListenClient>) | undefined;
  /** The cache to invalidate. */
  cache: InvalidationTarget;
  /** Channel to `LISTEN` on. @default "supaguard_invalidate" */
  channel?: string | undefined;
  /** First reconnect delay; doubles up to `maxReconnectDelayMs`, with jitter. @default 100 */
  reconnectDelayMs?: number | undefined;
  /** @default 5000 */
  maxReconnectDelayMs?: number | undefined;
  /** Connect timeout for clients built from `connectionString`. @default 5000 */
  connectTimeoutMs?: number | undefined;
  /**
   * Every this many ms the listener runs `SELECT 1` on its connection; no answer within
   * `min(5000, healthCheckMs)` counts as a lost connection (catches half-open TCP that
   * keep-alive would only notice after minutes). `0` turns it off. @default 30000
   */
  healthCheckMs?: number | undefined;
}

/** Events of a {@link PostgresInvalidationListener}. */
export interface PostgresInvalidationListenerEvents {
  /** LISTEN is active and the cache was flushed; `reconnect` is false the first time. */
  connect: { reconnect: boolean };
  /** The connection was lost; a reconnect is scheduled. */
  disconnect: DatabaseError;
  /** A notification was decoded and applied. */
  message: InvalidationMessage;
  /** Connection, payload or cache failures; the listener keeps going. */
  error: SupaguardError;
}

/** Counters of a {@link PostgresInvalidationListener}. */
export interface PostgresInvalidationListenerStats {
  connected: boolean;
  connects: number;
  disconnects: number;
  messages: number;
  fallbacks: number;
  flushes: number;
  errors: number;
}

type Handler<K extends keyof PostgresInvalidationListenerEvents> = (event: PostgresInvalidationListenerEvents[K]) => void;

/**
 * A `LISTEN` on a dedicated connection that turns trigger notifications into
 * cache invalidations. Reconnects with backoff; flushes the cache on every
 * (re)connect, because Postgres keeps no backlog of notifications sent while it
 * was away. Create it with {@link postgresInvalidationListener}.
 */
export class PostgresInvalidationListener {
  private readonly options: PostgresInvalidationListenerOptions;
  private readonly channel: string;
  private readonly handlers = new Map<keyof PostgresInvalidationListenerEvents, Set<(event: never) => void>>();
  private readonly counters = { connects: 0, disconnects: 0, messages: 0, fallbacks: 0, flushes: 0, errors: 0 };
  private readonly readyWaiters = new Set<{ resolve: () => void; reject: (err: Error) => void }>();
  private client: PgListenClient | undefined;
  private isConnected = false;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly loop: Promise<void>;

  constructor(options: PostgresInvalidationListenerOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigurationError('options', 'must be an object');
    const { connectionString, client, cache } = options;
    if ((connectionString === undefined) === (client === undefined)) {
      throw new ConfigurationError('options', 'needs exactly one of connectionString or client');
    }
    if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
      throw new ConfigurationError('connectionString', 'must be a non-empty string');
    }
    if (client !== undefined && typeof client !== 'function') {
      throw new ConfigurationError('client', 'must be a function returning a new pg.Client (a client cannot reconnect)');
    }
    if (typeof cache?.invalidate !== 'function' || typeof cache.clear !== 'function') {
      throw new ConfigurationError('cache', 'must have invalidate(scope) and clear()');
    }
    this.channel = options.channel ?? DEFAULT_INVALIDATION_CHANNEL;
    if (typeof this.channel !== 'string' || this.channel === '' || Buffer.byteLength(this.channel) > 63) {
      throw new ConfigurationError('channel', 'must be 1 to 63 bytes');
    }
    const health = options.healthCheckMs;
    if (health !== undefined && !(typeof health === 'number' && health >= 0 && Number.isFinite(health))) {
      throw new ConfigurationError('healthCheckMs', 'must be a number of milliseconds >= 0');
    }
    for (const field of ['reconnectDelayMs', 'maxReconnectDelayMs', 'connectTimeoutMs'] as const) {
      const value = options[field];
      if (value !== undefined && !(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
        throw new ConfigurationError(field, 'must be a positive number of milliseconds');
      }
    }
    this.options = options;
    this.loop = runDetached(() => this.run());
  }

  /** True while LISTEN is active. */
  get connected(): boolean {
    return this.isConnected;
  }

  /**
   * Resolves once LISTEN is active and the first flush is done.
   *
   * @param options.timeoutMs - Bounded by the ambient deadline too. @default 10000
   * @throws {@link TimeoutError} when not connected in time.
   * @throws {@link AbortedError} when `signal` aborts; {@link ConfigurationError} when the listener is (or gets) closed.
   * @example
   * ```ts
   * await listener.ready({ timeoutMs: 5_000 });
   * ```
   */
  async ready(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.isConnected) return;
    if (this.closed) throw new ConfigurationError('listener', 'is closed');
    const { ms, signal: deadline } = resolveBudget(options.timeoutMs ?? 10_000, 'postgres.listener.ready');
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let waiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
    const signals = [options.signal, deadline].filter((s): s is AbortSignal => s !== undefined);
    let onAbort: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        waiter = { resolve, reject };
        this.readyWaiters.add(waiter);
        timer = setTimeout(
          () => reject(new TimeoutError({ operation: 'postgres.listener.ready', elapsedMs: Math.round(performance.now() - started), timeoutMs: ms })),
          ms,
        );
        timer.unref();
        onAbort = () => {
          const aborted = signals.find((s) => s.aborted);
          if (aborted) reject(abortError(aborted, 'postgres.listener.ready'));
        };
        for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
        onAbort();
      });
    } finally {
      clearTimeout(timer);
      if (waiter) this.readyWaiters.delete(waiter);
      if (onAbort) for (const s of signals) s.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Subscribes to an event; returns the disposer.
   *
   * @example
   * ```ts
   * const off = listener.on('error', (err) => log.warn({ code: err.code }, err.message));
   * ```
   */
  on<K extends keyof PostgresInvalidationListenerEvents>(event: K, handler: Handler<K>): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    const entry = handler as (event: never) => void;
    set.add(entry);
    return () => void set.delete(entry);
  }

  /** Counters since creation. @example `listener.stats().disconnects` */
  stats(): PostgresInvalidationListenerStats {
    return { connected: this.isConnected, ...this.counters };
  }

  /**
   * Stops listening and ends the connection. Idempotent.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => void listener.close());
   * ```
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.readyWaiters) waiter.reject(new ConfigurationError('listener', 'is closed'));
    this.wake?.();
    const client = this.client;
    if (client) await client.end().catch(() => undefined);
    await this.loop;
  }

  private emit<K extends keyof PostgresInvalidationListenerEvents>(event: K, payload: PostgresInvalidationListenerEvents[K]): void {
    if (event === 'error') this.counters.errors += 1;
    for (const handler of this.handlers.get(event) ?? []) {
      try {
        (handler as Handler<K>)(payload);
      } catch {
        // A throwing event handler must not break the listener.
      }
    }
  }

  private async newClient(): Promise<PgListenClient> {
    if (this.options.client) return this.options.client();
    const { Client } = await loadPg();
    return new Client({
      connectionString: this.options.connectionString,
      keepAlive: true,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5_000,
      application_name: 'supaguard-invalidation-listener',
    });
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      let client: PgListenClient | undefined;
      try {
        client = await this.newClient();
        const current = client;
        const lost = new Promise<unknown>((resolve) => {
          current.on('error', resolve);
          current.on('end', () => resolve(new Error('connection ended')));
        });
        current.on('notification', (message) => void this.onNotification(message));
        this.client = current;
        if (this.closed) break;
        await Promise.race([current.connect(), lost.then((err) => Promise.reject(err))]);
        await Promise.race([current.query(`LISTEN "${this.channel.replaceAll('"', '""')}"`), lost.then((err) => Promise.reject(err))]);
        attempt = 0;
        // Flush after LISTEN is active: anything committed earlier may have been
        // missed, anything committed from now on will be delivered.
        await this.flush();
        if (this.closed) break;
        this.isConnected = true;
        this.counters.connects += 1;
        for (const waiter of this.readyWaiters) waiter.resolve();
        this.emit('connect', { reconnect: this.counters.connects > 1 });
        const stopHealthCheck = startHealthCheck(current, this.options.healthCheckMs ?? 30_000);
        let cause: unknown;
        try {
          cause = await Promise.race([lost, stopHealthCheck.failed, new Promise<void>((resolve) => (this.wake = resolve))]);
        } finally {
          stopHealthCheck.stop();
        }
        if (this.closed) break;
        this.isConnected = false;
        this.counters.disconnects += 1;
        this.emit('disconnect', toDatabaseError(cause, 'postgres.listen'));
      } catch (err) {
        this.isConnected = false;
        if (this.closed) break;
        this.emit('error', toDatabaseError(err, 'postgres.listen'));
      } finally {
        this.isConnected = false;
        if (client) {
          client.removeAllListeners('notification');
          // Keep an 'error' listener: a late socket error must not crash the process.
          client.removeAllListeners('error');
          client.on('error', () => undefined);
          if (!this.closed) void client.end().catch(() => undefined);
        }
        this.client = undefined;
      }
      if (this.closed) break;
      await this.sleep(reconnectDelay(attempt++, this.options.reconnectDelayMs ?? 100, this.options.maxReconnectDelayMs ?? 5_000));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async flush(): Promise<void> {
    this.counters.flushes += 1;
    try {
      await this.options.cache.clear();
    } catch (err) {
      this.emit('error', toDatabaseError(err, 'postgres.listener.flush'));
    }
  }

  private async onNotification(notification: PgNotification): Promise<void> {
    if (notification.channel !== this.channel) return;
    let message: InvalidationMessage;
    try {
      message = parseInvalidationPayload(notification.payload);
    } catch (err) {
      // Something else writes to our channel: flushing is the only safe answer.
      this.emit('error', toDatabaseError(err, 'postgres.notification'));
      await this.flush();
      return;
    }
    this.counters.messages += 1;
    if (message.fallback !== undefined) this.counters.fallbacks += 1;
    if (message.kind === 'clear') {
      await this.flush();
    } else {
      const results = await Promise.allSettled(message.scopes.map(async (scope) => this.options.cache.invalidate(scope)));
      for (const result of results) {
        if (result.status === 'rejected') this.emit('error', toDatabaseError(result.reason, 'postgres.listener.invalidate'));
      }
    }
    this.emit('message', message);
  }
}

/**
 * Listens for the invalidation triggers' notifications on a dedicated
 * connection and applies them to `cache` (with a Redis bus, that reaches every
 * instance). Starts at once; `await listener.ready()` to wait for LISTEN.
 *
 * Guarantees: NOTIFY is at-most-once, so the listener flushes the cache on every
 * (re)connect and entry TTLs remain the backstop for anything else missed.
 *
 * @throws {@link ConfigurationError} for invalid options (or, on the `error` event, when pg is not installed).
 * @example
 * ```ts
 * import { postgresInvalidationListener } from 'supaguard/postgres';
 * const listener = postgresInvalidationListener({ connectionString: process.env.DATABASE_URL!, cache: authz });
 * listener.on('error', (err) => log.warn({ code: err.code }, err.message));
 * await listener.ready();
 * // on shutdown
 * await listener.close();
 * ```
 */
export function postgresInvalidationListener(options: PostgresInvalidationListenerOptions): PostgresInvalidationListener {
  return new PostgresInvalidationListener(options);
}
