import dc from 'node:diagnostics_channel';

/**
 * The `node:diagnostics_channel` channels every supaguard component publishes to.
 * Components only publish; exporters (`supaguard/prometheus`, `supaguard/otel`, or
 * your own) subscribe. Publishing costs one `hasSubscribers` check when nobody listens.
 *
 * Channels are looked up by name in Node's process-wide registry, so the ESM and CJS
 * builds (and two installed copies of supaguard) share them.
 *
 * @module
 */

/** State of a circuit breaker. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Payload of `supaguard:cache:hit`, `supaguard:cache:miss` and `supaguard:cache:stale`. */
export interface CacheLayerEvent {
  /** Layer name, e.g. `memory`, `redis`. */
  readonly layer: string;
}

/** Payload of `supaguard:cache:invalidation-sent` and `supaguard:cache:invalidation-received`. */
export interface InvalidationEvent {
  /** Name of the cache that sent or applied the invalidation, e.g. `authorization`. */
  readonly cache: string;
  /** Keys and scopes the message names (0 for "everything"). */
  readonly keys: number;
}

/** Payload of `supaguard:bus:reconnect`: a cache's bus reconnected and the cache dropped its local entries. */
export interface BusReconnectEvent {
  /** Name of the cache. */
  readonly cache: string;
}

/** Payload of `supaguard:breaker:state`. */
export interface BreakerStateEvent {
  /** Breaker name, e.g. `postgres`, `redis`, `jwks`. */
  readonly name: string;
  /** State before the transition. */
  readonly from: BreakerState;
  /** State after the transition. */
  readonly to: BreakerState;
}

/** Payload of `supaguard:bulkhead:queue`: published whenever the occupancy changes. */
export interface BulkheadQueueEvent {
  /** Bulkhead name. */
  readonly name: string;
  /** Calls running now. */
  readonly active: number;
  /** Calls waiting for a slot. */
  readonly queued: number;
}

/** Payload of `supaguard:bulkhead:rejected`. */
export interface BulkheadRejectedEvent {
  /** Bulkhead name. */
  readonly name: string;
  /** `queue-full`, `queue-timeout` or `deadline`. */
  readonly reason: string;
}

/** Payload of the events that carry no fields (token and service-key cache hits and misses). */
export type EmptyEvent = Readonly<Record<string, never>>;

/** Payload of `supaguard:rate-limit:rejected` and `supaguard:rate-limit:insurance`. */
export interface RateLimitEvent {
  /** Limiter name (never the client key: it may be a user id or an IP). */
  readonly limiter: string;
}

/** Payload of `supaguard:audit-log:queue`. */
export interface AuditQueueEvent {
  /** Entries waiting to be written. */
  readonly depth: number;
}

/** Payload of `supaguard:audit-log:drop`. */
export interface AuditDropEvent {
  /** Entries dropped. */
  readonly count: number;
  /** Why, e.g. `queue-full`, `write-failed`, `shutdown`. */
  readonly reason: string;
}

/** Payload of `supaguard:monitor:operation`: one `track()` sample. */
export interface MonitorOperationEvent {
  /** The tracked operation, e.g. `auth`. */
  readonly operation: string;
  /** How long it took, in ms. */
  readonly durationMs: number;
}

/** Payload of `supaguard:monitor:alert` and `supaguard:monitor:recover`. */
export interface MonitorAlertEvent {
  /** The operation that breached (or recovered), e.g. `authorization`. */
  readonly operation: string;
  /** The watched percentile, e.g. 95. */
  readonly percentile: number;
  /** That percentile over the window, in ms. */
  readonly valueMs: number;
  /** The operation's target, in ms. */
  readonly targetMs: number;
  /** Samples in the window. */
  readonly samples: number;
}

/**
 * Context of a traced call (loader, Redis, JWKS, query). Node adds `error` when the
 * call fails and `result` when it succeeds; subscribers may read both.
 */
export interface TraceContext {
  /** What is called: the cache name for the loader, the command for Redis, `fetch` for JWKS, the table or function for a query. */
  readonly operation: string;
  /** Set by Node when the call rejected. */
  error?: unknown;
  /** Set by Node when the call resolved. */
  result?: unknown;
}

/** A `diagnostics_channel` channel whose messages have type `T`. */
export interface TypedChannel<T> {
  /** The public channel name, e.g. `supaguard:cache:hit`. */
  readonly name: string;
  /** `true` when at least one subscriber listens; check it before building a costly payload. */
  readonly hasSubscribers: boolean;
  /** Sends `message` to every subscriber (prefer {@link publish}, which checks `hasSubscribers`). */
  publish(message: T): void;
}

/** A `diagnostics_channel` tracing channel whose context has type `C`. */
export interface TypedTracingChannel<C extends TraceContext> {
  /** `true` when any of the five tracing events has a subscriber. */
  readonly hasSubscribers: boolean;
  /** Runs `fn`, publishing start / end / asyncStart / asyncEnd / error around it (prefer {@link traceCall}). */
  tracePromise<R>(fn: () => Promise<R>, context: C): Promise<R>;
  /** Adds handlers (prefer {@link subscribeTracing}, which returns a disposer). */
  subscribe(handlers: Partial<TracingHandlers<C>>): void;
  /** Removes handlers added with `subscribe`. */
  unsubscribe(handlers: Partial<TracingHandlers<C>>): void;
}

/** Handlers for a {@link TypedTracingChannel}; `asyncEnd` fires when the call settled (after `error` on failure). */
export interface TracingHandlers<C> {
  /** Before the call, synchronously in the caller's async context. */
  start(context: C): void;
  /** When the call returned its promise (synchronously). */
  end(context: C): void;
  /** When the promise settled, before its continuations. */
  asyncStart(context: C): void;
  /** When the promise settled; `context.result` or `context.error` is set. */
  asyncEnd(context: C): void;
  /** When the call failed; `context.error` is set. */
  error(context: C): void;
}

function defineChannel<T>(name: string): TypedChannel<T> {
  return dc.channel(name) as unknown as TypedChannel<T>;
}

function defineTracingChannel<C extends TraceContext>(name: string): TypedTracingChannel<C> {
  return dc.tracingChannel(name) as unknown as TypedTracingChannel<C>;
}

/**
 * Every event channel supaguard publishes to, by purpose. The `name` of each is the
 * public, stable channel name (`supaguard:<component>:<event>`).
 *
 * @example
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe('supaguard:breaker:state', (e) => console.log(e)); // { name, from, to }
 * ```
 */
export const channels = {
  /** `supaguard:cache:hit` */
  cacheHit: defineChannel<CacheLayerEvent>('supaguard:cache:hit'),
  /** `supaguard:cache:miss` */
  cacheMiss: defineChannel<CacheLayerEvent>('supaguard:cache:miss'),
  /** `supaguard:cache:stale` */
  cacheStale: defineChannel<CacheLayerEvent>('supaguard:cache:stale'),
  /** `supaguard:cache:invalidation-sent` */
  invalidationSent: defineChannel<InvalidationEvent>('supaguard:cache:invalidation-sent'),
  /** `supaguard:cache:invalidation-received` */
  invalidationReceived: defineChannel<InvalidationEvent>('supaguard:cache:invalidation-received'),
  /** `supaguard:bus:reconnect` */
  busReconnect: defineChannel<BusReconnectEvent>('supaguard:bus:reconnect'),
  /** `supaguard:breaker:state` */
  breakerState: defineChannel<BreakerStateEvent>('supaguard:breaker:state'),
  /** `supaguard:bulkhead:queue` */
  bulkheadQueue: defineChannel<BulkheadQueueEvent>('supaguard:bulkhead:queue'),
  /** `supaguard:bulkhead:rejected` */
  bulkheadRejected: defineChannel<BulkheadRejectedEvent>('supaguard:bulkhead:rejected'),
  /** `supaguard:token-cache:hit` */
  tokenCacheHit: defineChannel<EmptyEvent>('supaguard:token-cache:hit'),
  /** `supaguard:token-cache:miss` */
  tokenCacheMiss: defineChannel<EmptyEvent>('supaguard:token-cache:miss'),
  /** `supaguard:service-key:hit` */
  serviceKeyHit: defineChannel<EmptyEvent>('supaguard:service-key:hit'),
  /** `supaguard:service-key:miss` */
  serviceKeyMiss: defineChannel<EmptyEvent>('supaguard:service-key:miss'),
  /** `supaguard:rate-limit:rejected` */
  rateLimitRejected: defineChannel<RateLimitEvent>('supaguard:rate-limit:rejected'),
  /** `supaguard:rate-limit:insurance` */
  rateLimitInsurance: defineChannel<RateLimitEvent>('supaguard:rate-limit:insurance'),
  /** `supaguard:audit-log:queue` */
  auditQueue: defineChannel<AuditQueueEvent>('supaguard:audit-log:queue'),
  /** `supaguard:audit-log:drop` */
  auditDrop: defineChannel<AuditDropEvent>('supaguard:audit-log:drop'),
  /** `supaguard:monitor:operation` */
  monitorOperation: defineChannel<MonitorOperationEvent>('supaguard:monitor:operation'),
  /** `supaguard:monitor:alert` */
  monitorAlert: defineChannel<MonitorAlertEvent>('supaguard:monitor:alert'),
  /** `supaguard:monitor:recover` */
  monitorRecover: defineChannel<MonitorAlertEvent>('supaguard:monitor:recover'),
} as const;

/**
 * Tracing channels around remote calls. Each publishes Node's
 * `tracing:<name>:start|end|asyncStart|asyncEnd|error` channels, e.g.
 * `tracing:supaguard:loader:start`.
 *
 * @example
 * ```ts
 * tracing.jwks.subscribe({ error: (ctx) => console.warn('JWKS fetch failed', ctx.operation) });
 * ```
 */
export const tracing = {
  /** A cache loader call (the source of truth behind the cache). */
  loader: defineTracingChannel<TraceContext>('supaguard:loader'),
  /** A Redis command issued by a supaguard layer, bus or limiter. */
  redis: defineTracingChannel<TraceContext>('supaguard:redis'),
  /** A JWKS (signing keys) fetch. */
  jwks: defineTracingChannel<TraceContext>('supaguard:jwks'),
  /** A database query run through supaguard. */
  query: defineTracingChannel<TraceContext>('supaguard:query'),
} as const;

/** Names of the tracing channels in {@link tracing}. */
export type TracedCall = keyof typeof tracing;

/**
 * Publishes `message` when someone subscribes; costs one property read otherwise.
 * In a hot path, test `channel.hasSubscribers` first when building the payload is costly.
 *
 * @example
 * ```ts
 * publish(channels.cacheHit, { layer: 'memory' });
 * ```
 */
export function publish<T>(channel: TypedChannel<T>, message: T): void {
  if (channel.hasSubscribers) channel.publish(message);
}

/**
 * Runs `fn` inside the tracing channel: subscribers see `start` before the call and
 * `asyncEnd` (after `error` on failure) when it settles. Without subscribers, `fn` runs
 * directly.
 *
 * @example
 * ```ts
 * const row = await traceCall(tracing.loader, { operation: 'authorization' }, () => loadRow(id));
 * ```
 */
export function traceCall<R, C extends TraceContext>(channel: TypedTracingChannel<C>, context: C, fn: () => Promise<R>): Promise<R> {
  if (!channel.hasSubscribers) return fn();
  // The async wrapper turns a synchronous throw into a rejection, so subscribers
  // always see asyncEnd for a call that started.
  return channel.tracePromise(async () => fn(), context);
}

/**
 * Subscribes `listener` to a channel and returns the disposer. Holds a strong reference,
 * so the subscription lives until disposed.
 *
 * @example
 * ```ts
 * const dispose = subscribe(channels.breakerState, (e) => log.warn(e, 'breaker changed state'));
 * dispose();
 * ```
 */
export function subscribe<T>(channel: TypedChannel<T>, listener: (message: T) => void): () => void {
  const onMessage = (message: unknown): void => listener(message as T);
  dc.subscribe(channel.name, onMessage);
  return () => {
    dc.unsubscribe(channel.name, onMessage);
  };
}

/**
 * Subscribes handlers to a tracing channel and returns the disposer.
 *
 * @example
 * ```ts
 * const dispose = subscribeTracing(tracing.jwks, { error: () => failures++ });
 * ```
 */
export function subscribeTracing<C extends TraceContext>(channel: TypedTracingChannel<C>, handlers: Partial<TracingHandlers<C>>): () => void {
  channel.subscribe(handlers);
  return () => {
    channel.unsubscribe(handlers);
  };
}
