import type { Cluster, Redis } from 'ioredis';
import { ConfigurationError } from '../errors.js';
import { withTimeout } from '../resilience/timeout.js';
import { traceCall, tracing } from '../observe/channels.js';
import type { InvalidationBus, InvalidationHandlers, InvalidationMessage } from '../cache/types.js';
import { isVersion } from '../cache/version.js';

/** Options of {@link redisInvalidationBus}. */
export interface RedisInvalidationBusOptions {
  /** Client used to PUBLISH (can be the one your `redisLayer` uses). */
  publisher: Redis | Cluster;
  /** A dedicated client for SUBSCRIBE (e.g. `redis.duplicate()`): a subscribed connection cannot run other commands. */
  subscriber: Redis | Cluster;
  /** Pub/sub channel. @default 'supaguard:invalidate' */
  channel?: string;
  /** Limit for one PUBLISH; the request deadline may shorten it. @default 200 */
  timeoutMs?: number;
}

type Client = Redis | Cluster;
type Wire = { o: string; v: string; k?: readonly string[]; s?: readonly string[]; c?: 1 };

/** Encodes a message compactly: ids and versions only, never values. */
function encode(message: InvalidationMessage): string {
  const wire: Wire = { o: message.origin, v: message.version };
  if (message.keys?.length) wire.k = message.keys;
  if (message.scopes?.length) wire.s = message.scopes;
  if (message.clear) wire.c = 1;
  return JSON.stringify(wire);
}

function decode(text: string): InvalidationMessage | undefined {
  let wire: Partial<Wire>;
  try {
    wire = JSON.parse(text) as Partial<Wire>;
  } catch {
    return undefined;
  }
  if (typeof wire !== 'object' || wire === null || typeof wire.o !== 'string' || !isVersion(wire.v)) return undefined;
  const strings = (list: unknown): string[] | undefined => (Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : undefined);
  const keys = strings(wire.k);
  const scopes = strings(wire.s);
  return { origin: wire.o, version: wire.v, ...(keys ? { keys } : {}), ...(scopes ? { scopes } : {}), ...(wire.c === 1 ? { clear: true } : {}) };
}

/**
 * Redis pub/sub invalidation bus. Each invalidation publishes a small JSON
 * message (keys or scopes, the version and the origin id). When the
 * subscriber reconnects, every cache is told to flush its L1, because
 * messages published while it was disconnected are lost (pub/sub keeps no
 * backlog); the flush happens only once the subscription is active again.
 *
 * @example
 * ```ts
 * const bus = new RedisInvalidationBus({ publisher: redis, subscriber: redis.duplicate() });
 * ```
 */
export class RedisInvalidationBus implements InvalidationBus {
  private readonly publisher: Client;
  private readonly subscriber: Client;
  private readonly channel: string;
  private readonly timeoutMs: number;
  private readonly handlers = new Set<InvalidationHandlers>();
  private subscribed = false;
  private lostConnection = false;
  /** The last error either client reported, for diagnostics. */
  lastError: unknown;

  private readonly onMessage = (channel: string, text: string): void => {
    if (channel !== this.channel) return;
    const message = decode(text);
    if (!message) return;
    for (const handler of this.handlers) handler.onMessage(message);
  };
  private readonly onError = (err: unknown): void => {
    this.lastError = err;
  };
  private readonly onClose = (): void => {
    if (this.subscribed) this.lostConnection = true;
  };
  private readonly onReady = (): void => {
    if (!this.lostConnection) return;
    this.lostConnection = false;
    // Re-subscribing is idempotent; its reply proves the subscription is live before L1 is flushed.
    this.subscriber.subscribe(this.channel).then(
      () => {
        for (const handler of this.handlers) handler.onReconnect();
      },
      (err: unknown) => {
        this.lastError = err;
        this.lostConnection = true;
      },
    );
  };

  constructor(options: RedisInvalidationBusOptions) {
    if (!options || typeof options.publisher?.publish !== 'function') throw new ConfigurationError('publisher', 'must be an ioredis Redis or Cluster instance');
    if (typeof options.subscriber?.subscribe !== 'function') throw new ConfigurationError('subscriber', 'must be an ioredis Redis or Cluster instance');
    if (options.subscriber === options.publisher) throw new ConfigurationError('subscriber', 'must be a separate connection (use client.duplicate())');
    this.publisher = options.publisher;
    this.subscriber = options.subscriber;
    this.channel = options.channel ?? 'supaguard:invalidate';
    this.timeoutMs = options.timeoutMs ?? 200;
    if (typeof this.timeoutMs !== 'number' || !(this.timeoutMs > 0)) throw new ConfigurationError('timeoutMs', 'must be a positive number of milliseconds');
    this.publisher.on('error', this.onError);
    this.subscriber.on('error', this.onError);
  }

  /** Resolves once the subscription is active (call before relying on delivery, e.g. in tests). */
  async ready(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
  }

  async publish(message: InvalidationMessage): Promise<void> {
    if (this.publisher.status !== 'ready') throw new Error(`Redis publisher connection is ${this.publisher.status}`);
    const payload = encode(message);
    await traceCall(tracing.redis, { operation: 'publish' }, () => withTimeout(() => this.publisher.publish(this.channel, payload), { ms: this.timeoutMs, operation: 'redis.publish' }));
  }

  subscribe(handlers: InvalidationHandlers): () => void {
    this.handlers.add(handlers);
    if (!this.subscribed) {
      this.subscribed = true;
      this.subscriber.on('message', this.onMessage);
      this.subscriber.on('close', this.onClose);
      this.subscriber.on('ready', this.onReady);
      this.subscriber.subscribe(this.channel).catch((err: unknown) => {
        this.lastError = err;
      });
    }
    return () => {
      this.handlers.delete(handlers);
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
    this.subscriber.off('message', this.onMessage);
    this.subscriber.off('close', this.onClose);
    this.subscriber.off('ready', this.onReady);
    this.subscriber.off('error', this.onError);
    this.publisher.off('error', this.onError);
    if (this.subscribed && this.subscriber.status === 'ready') await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
    this.subscribed = false;
  }
}

/**
 * Creates the Redis invalidation bus for `createAuthorizationCache({ bus })`.
 *
 * @param options - `publisher`, a separate `subscriber` connection, optional `channel`.
 * @throws {@link ConfigurationError} when the clients are missing or the same connection.
 * @example
 * ```ts
 * const bus = redisInvalidationBus({ publisher: redis, subscriber: redis.duplicate() });
 * const authz = createAuthorizationCache({ layers, loader, bus });
 * ```
 */
export function redisInvalidationBus(options: RedisInvalidationBusOptions): RedisInvalidationBus {
  return new RedisInvalidationBus(options);
}
