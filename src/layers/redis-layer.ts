import type { Cluster, Redis } from 'ioredis';
import { CircuitOpenError, ConfigurationError, DeadlineExceededError, isSupaguardError, TimeoutError } from '../errors.js';
import { resolveBudget } from '../resilience/deadline.js';
import { abortErrorFromReason, currentScope } from '../resilience/deadline-scope.js';
import type { AbortSubscriber } from '../resilience/cancellation.js';
import { traceCall, tracing } from '../observe/channels.js';
import { FailureBreaker, type FailureBreakerOptions } from '../cache/failure-breaker.js';
import type { CacheEntry, CacheLayer, CacheLayerStats } from '../cache/types.js';
import { MgetBatcher } from './redis-mget-batcher.js';
import { groupBySlot } from './redis-slots.js';
import { jsonEntrySerializer, type EntrySerializer } from './redis-serializer.js';

/** Options of {@link redisLayer}. */
export interface RedisLayerOptions {
  /** Your ioredis `Redis` or `Cluster` client (the layer never closes it). */
  client: Redis | Cluster;
  /** Prefix of every key this layer writes, e.g. `myapp:`. */
  prefix: string;
  /** Entry encoding. @default jsonEntrySerializer */
  serializer?: EntrySerializer;
  /** Limit per command; the request deadline may shorten it. @default 50 */
  timeoutMs?: number;
  /** Breaker around the client. @default { failureThreshold: 1, resetMs: 1000 } */
  breaker?: FailureBreakerOptions;
  /** Layer name in stats and events. @default 'redis' */
  name?: string;
}

type Client = Redis | Cluster;

const SCAN_COUNT = 500;

type RedisOperation = 'redis.get' | 'redis.mget' | 'redis.set' | 'redis.del' | 'redis.scan';
/** Span names on `supaguard:redis`: the bare command. */
const TRACE_NAMES: Record<RedisOperation, string> = { 'redis.get': 'get', 'redis.mget': 'mget', 'redis.set': 'set', 'redis.del': 'del', 'redis.scan': 'scan' };

interface ClientWatch {
  readonly layers: Set<RedisLayer<unknown>>;
  readonly onError: (err: unknown) => void;
  readonly onReady: () => void;
  readonly onClose: () => void;
}



// One 'error' and one 'ready' listener per client, however many layers share it (no MaxListeners warnings).
const watches = new WeakMap<Client, ClientWatch>();

function watchClient(client: Client, layer: RedisLayer<unknown>): void {
  let watch = watches.get(client);
  if (!watch) {
    const layers = new Set<RedisLayer<unknown>>();
    watch = {
      layers,
      // Handled here so ioredis never prints "Unhandled error event"; the breaker reacts to failed commands.
      onError: (err) => layers.forEach((l) => (l.lastError = err)),
      onReady: () => layers.forEach((l) => l.allowProbe()),
      onClose: () => layers.forEach((l) => l.connectionLost()),
    };
    watches.set(client, watch);
    client.on('error', watch.onError);
    client.on('ready', watch.onReady);
    client.on('close', watch.onClose);
  }
  watch.layers.add(layer);
}

function unwatchClient(client: Client, layer: RedisLayer<unknown>): void {
  const watch = watches.get(client);
  if (!watch || !watch.layers.delete(layer) || watch.layers.size > 0) return;
  client.off('error', watch.onError);
  client.off('ready', watch.onReady);
  client.off('close', watch.onClose);
  watches.delete(client);
}

/**
 * L2 on Redis (single node or Cluster). Every command is bounded by
 * `min(timeoutMs, remaining deadline)` and runs only while the connection is
 * ready, so nothing waits in ioredis's offline queue; a breaker skips Redis in
 * nanoseconds after a failure until a probe succeeds (at once when the client
 * reports `ready` again). Multi-key commands are split per Cluster slot.
 *
 * @example
 * ```ts
 * const l2 = new RedisLayer({ client: new Redis(url), prefix: 'app:' });
 * ```
 */
export class RedisLayer<V = unknown> implements CacheLayer<V> {
  readonly name: string;
  readonly kind = 'remote' as const;
  private readonly client: Client;
  private readonly prefix: string;
  private readonly serializer: EntrySerializer;
  private readonly timeoutMs: number;
  private readonly breaker: FailureBreaker;
  private readonly cluster: boolean;
  /** The last connection error ioredis reported, for diagnostics. */
  lastError: unknown;
  /** This tick's reads, sent as one MGET on a single node, decoded and accounted in the batch's callback. */
  private readonly batcher: MgetBatcher<Array<CacheEntry<V> | undefined>>;
  /** Rejecters of the commands in flight, failed together when the connection closes. */
  private readonly inFlight = new Set<(err: Error) => void>();

  constructor(options: RedisLayerOptions) {
    if (!options || typeof options.client?.mget !== 'function') throw new ConfigurationError('client', 'must be an ioredis Redis or Cluster instance');
    if (typeof options.prefix !== 'string' || options.prefix.length === 0) throw new ConfigurationError('prefix', 'must be a non-empty string');
    const timeoutMs = options.timeoutMs ?? 50;
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw new ConfigurationError('timeoutMs', 'must be a finite number > 0');
    this.client = options.client;
    this.prefix = options.prefix;
    this.serializer = options.serializer ?? jsonEntrySerializer;
    this.timeoutMs = timeoutMs;
    this.name = options.name ?? 'redis';
    this.breaker = new FailureBreaker(options.breaker ?? { failureThreshold: 1, resetMs: 1_000 });
    this.cluster = (this.client as { isCluster?: boolean }).isCluster === true;
    this.batcher = new MgetBatcher((keys) => this.sendMget(keys), timeoutMs, {
      decode: this.decodeAll,
      succeeded: () => this.breaker.success(),
      failed: (err) => this.settleBreaker(err),
    });
    watchClient(this.client, this as RedisLayer<unknown>);
  }

  /**
   * @internal The connection closed: fail the commands in flight now. ioredis would keep them to resend
   * after a reconnect, so without this the first miss after a crash would wait the whole timeout.
   */
  connectionLost(): void {
    const err = new Error('Redis connection closed');
    for (const fail of [...this.inFlight]) fail(err);
    this.batcher.failAll(err);
  }

  /** @internal The client reported `ready`: let the next call probe at once. */
  allowProbe(): void {
    this.breaker.allowProbe();
  }

  async get(key: string): Promise<CacheEntry<V> | undefined> {
    const raw = await this.run('redis.get', () => this.client.getBuffer(this.prefix + key));
    return raw === null ? undefined : (this.serializer.deserialize(raw) as CacheEntry<V> | undefined);
  }

  getMany(keys: readonly string[]): Promise<Array<CacheEntry<V> | undefined>> {
    return this.getManyThen<Array<CacheEntry<V> | undefined>>(keys, undefined, undefined);
  }

  /**
   * @internal `getMany(keys).then(onValue, onError)`, with one promise hop fewer on a single node: the
   * continuation runs in the MGET batch's own callback (the cache's single-item read uses it).
   */
  getManyThen<T>(
    keys: readonly string[],
    onValue: ((entries: Array<CacheEntry<V> | undefined>) => T | PromiseLike<T>) | undefined,
    onError: ((err: unknown) => T | PromiseLike<T>) | undefined,
  ): Promise<T> {
    if (keys.length === 0) return chain(Promise.resolve([]), onValue, onError);
    if (this.cluster) {
      const read = this.run('redis.mget', () => this.perSlot(keys.map((key) => this.prefix + key), (slice) => this.client.mgetBuffer(...slice)));
      return chain(read.then(this.decodeAll), onValue, onError);
    }
    // A single node: the batcher sends this tick's reads as one MGET, each distinct key once, under one timer per
    // batch (not one per caller). No async frames on the hot path.
    if (!this.connected()) {
      return failedRead(new CircuitOpenError(this.name, this.breaker.retryAfterMs(), { cause: new Error(`Redis connection is ${this.client.status}`) }), onError);
    }
    if (!this.breaker.tryAcquire()) return failedRead(new CircuitOpenError(this.name, this.breaker.retryAfterMs()), onError);
    try {
      // min(timeoutMs, remaining deadline): the batch has the first, a caller whose deadline is sooner gets the
      // second. Only `ms` is read: the deadline's AbortSignal is neither listened to nor created here.
      const budget = resolveBudget(this.timeoutMs, 'redis.mget');
      const deadlineAt = budget.deadlineBound ? performance.now() + budget.ms : Infinity;
      // The batcher decodes and reports to the breaker in its own callback, then runs the continuation there:
      // no hop between the reply and `onValue` (traced, the span ends first, so the continuation follows it).
      return tracing.redis.hasSubscribers
        ? chain(traceCall(tracing.redis, { operation: 'mget' }, () => this.batcher.read(keys, deadlineAt)), onValue, onError)
        : this.batcher.readThen(keys, deadlineAt, onValue, onError);
    } catch (err) {
      this.settleBreaker(err);
      return failedRead(err, onError);
    }
  }

  async set(key: string, entry: CacheEntry<V>, ttlMs: number): Promise<void> {
    const ttl = Math.ceil(ttlMs);
    if (!(ttl > 0)) return this.delete(key);
    const payload = this.serializer.serialize(entry as CacheEntry<unknown>);
    await this.run('redis.set', () => this.client.set(this.prefix + key, payload, 'PX', ttl));
  }

  async delete(key: string): Promise<void> {
    await this.run('redis.del', () => this.client.unlink(this.prefix + key));
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const full = keys.map((key) => this.prefix + key);
    await this.run('redis.del', () => this.perSlot(full, async (slice) => [await this.client.unlink(...slice)]));
  }

  /** Removes keys by prefix with SCAN (maintenance only: the cache itself invalidates with stamps, never by scanning). */
  async clear(prefix = ''): Promise<void> {
    const pattern = `${escapeGlob(this.prefix + prefix)}*`;
    const nodes: Redis[] = this.cluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.run('redis.scan', () => node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT));
        cursor = next;
        // Keys found on one node may still span slots: delete them slot by slot.
        if (keys.length > 0) await this.run('redis.del', () => this.perSlot(keys, async (slice) => [await node.unlink(...slice)]));
      } while (cursor !== '0');
    }
  }

  stats(): CacheLayerStats {
    return { breaker: this.breaker.state };
  }

  close(): void {
    unwatchClient(this.client, this as RedisLayer<unknown>);
  }

  /** Runs one command through the breaker, bounded unless `command` bounds itself; never queues while disconnected. */
  private async run<T>(operation: RedisOperation, command: () => Promise<T>): Promise<T> {
    // Not connected: fail in nanoseconds instead of queueing in ioredis's offline queue until a reconnect.
    if (!this.connected()) {
      throw new CircuitOpenError(this.name, this.breaker.retryAfterMs(), { cause: new Error(`Redis connection is ${this.client.status}`) });
    }
    if (!this.breaker.tryAcquire()) throw new CircuitOpenError(this.name, this.breaker.retryAfterMs());
    try {
      // Traced on `supaguard:redis` as the bare command (`get`, `mget` …) for spans and latency
      // metrics; one hasSubscribers check when nobody listens.
      const call = (): Promise<T> => this.bounded(operation, command);
      const result = await (tracing.redis.hasSubscribers ? traceCall(tracing.redis, { operation: TRACE_NAMES[operation] }, call) : call());
      this.breaker.success();
      return result;
    } catch (err) {
      this.settleBreaker(err);
      throw err;
    }
  }

  /** Reports a failed command to the breaker: a request deadline running out says nothing about Redis's health. */
  private settleBreaker(err: unknown): void {
    if (isSupaguardError(err) && (err.code === 'E_DEADLINE' || err.code === 'E_ABORTED')) this.breaker.release();
    else this.breaker.failure();
  }

  private readonly decodeAll = (raws: ReadonlyArray<Buffer | null | undefined>): Array<CacheEntry<V> | undefined> => {
    const entries = new Array<CacheEntry<V> | undefined>(raws.length);
    for (let i = 0; i < raws.length; i++) {
      const raw = raws[i];
      entries[i] = raw === null || raw === undefined ? undefined : (this.serializer.deserialize(raw) as CacheEntry<V> | undefined);
    }
    return entries;
  };

  /**
   * `command()` bounded by min(timeoutMs, remaining deadline), and failed at once when the connection
   * closes. A lean `withTimeout` (ioredis takes no AbortSignal, so none is created).
   */
  private bounded<T>(operation: string, command: () => Promise<T>): Promise<T> {
    const budget = resolveBudget(this.timeoutMs, operation);
    // The deadline's abort arrives through a subscription to its scope: reading
    // `budget.signal` would create an AbortSignal (~4 µs on Node 20) for every request scope.
    const scope = currentScope();
    const started = performance.now();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (err: unknown, value?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(onLost);
        scope?.unsubscribe(onDeadline);
        if (err === undefined) resolve(value as T);
        else reject(err);
      };
      const onLost = (err: Error): void => finish(err);
      const onDeadline: AbortSubscriber = { upstreamAborted: (reason) => finish(abortErrorFromReason(reason, operation)) };
      const timer = setTimeout(() => {
        const err = budget.deadlineBound
          ? new DeadlineExceededError(operation, 0)
          : new TimeoutError({ operation, elapsedMs: Math.round(performance.now() - started), timeoutMs: budget.ms });
        // Timers run before I/O in a loop turn: let a reply already in the socket win first.
        setImmediate(() => finish(err));
      }, budget.ms);
      timer.unref();
      this.inFlight.add(onLost);
      // resolveBudget threw if the scope had already aborted, so subscribing is allowed here.
      scope?.subscribe(onDeadline);
      command().then(
        (value) => finish(undefined, value),
        (err: unknown) => finish(err ?? new Error('Redis command failed')),
      );
    });
  }

  /** The batcher's sender: one MGET of the prefixed keys, only while connected (never into the offline queue). */
  private sendMget(keys: readonly string[]): Promise<Array<Buffer | null>> {
    if (!this.connected()) throw new CircuitOpenError(this.name, 0, { cause: new Error(`Redis connection is ${this.client.status}`) });
    const full = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) full[i] = this.prefix + (keys[i] as string);
    return this.client.mgetBuffer(...full);
  }

  /** Ready and writable: a command sent now goes to the socket, not to ioredis's offline queue. */
  private connected(): boolean {
    return this.client.status === 'ready' && (this.cluster || (this.client as Redis).stream?.writable !== false);
  }

  /** One command per Cluster slot (one command in total on a single node), results in key order. */
  private async perSlot<T>(keys: readonly string[], command: (slice: string[]) => Promise<T[]>): Promise<T[]> {
    if (!this.cluster) return command([...keys]);
    const groups = [...groupBySlot(keys).values()];
    const results = await Promise.all(groups.map((indexes) => command(indexes.map((i) => keys[i] as string))));
    const out = new Array<T>(keys.length);
    groups.forEach((indexes, g) => indexes.forEach((index, j) => (out[index] = (results[g] as T[])[j] as T)));
    return out;
  }
}

/** A read that failed before it was sent: rejected, or handed to `onError` in a microtask, as `then` would. */
function failedRead<T>(err: unknown, onError: ((err: unknown) => T | PromiseLike<T>) | undefined): Promise<T> {
  return chain(Promise.reject(err), undefined, onError);
}

/** `read.then(onValue, onError)`, or `read` itself when neither is given (no pass-through hop). */
function chain<E, T>(read: Promise<E>, onValue: ((value: E) => T | PromiseLike<T>) | undefined, onError: ((err: unknown) => T | PromiseLike<T>) | undefined): Promise<T> {
  return (onValue === undefined && onError === undefined ? read : read.then(onValue, onError)) as Promise<T>;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (ch) => `\\${ch}`);
}

/**
 * Creates the Redis layer (L2) for `createAuthorizationCache`.
 *
 * @param options - `client` (ioredis Redis or Cluster), `prefix`, optional `serializer`, `timeoutMs` (default 50).
 * @throws {@link ConfigurationError} for a missing client or prefix.
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { redisLayer } from 'supaguard/redis';
 * const redis = new Redis(process.env.REDIS_URL);
 * const authz = createAuthorizationCache({ layers: [memoryLayer({ max: 50_000 }), redisLayer({ client: redis, prefix: 'app:' })], loader });
 * ```
 */
export function redisLayer<V = unknown>(options: RedisLayerOptions): RedisLayer<V> {
  return new RedisLayer<V>(options);
}
