import { Agent, fetch as undiciFetch } from 'undici';
import { ConfigurationError } from '../errors.js';

/** Options of the process-wide keep-alive pool every supaguard Supabase client shares. */
export interface HttpPoolOptions {
  /** Maximum sockets per origin. @default 128 */
  connections?: number;
  /** How long an idle socket stays open, in ms. @default 30000 */
  keepAliveTimeoutMs?: number;
  /** Requests pipelined per socket. @default 1 */
  pipelining?: number;
}

interface PoolState {
  agent: Agent;
  options: Required<HttpPoolOptions>;
}

interface PoolHolder {
  current: PoolState | undefined;
  /** What the next pool is created with (set by `configureHttpPool`). */
  options: HttpPoolOptions;
  fetch: typeof globalThis.fetch;
}

const DEFAULTS: Required<HttpPoolOptions> = { connections: 128, keepAliveTimeoutMs: 30_000, pipelining: 1 };

function positiveInt(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigurationError(field, 'must be a positive integer');
  }
  return value;
}

function createPool(options: HttpPoolOptions): PoolState {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('pool', 'must be an object');
  const resolved: Required<HttpPoolOptions> = {
    connections: positiveInt('pool.connections', options.connections ?? DEFAULTS.connections),
    keepAliveTimeoutMs: positiveInt('pool.keepAliveTimeoutMs', options.keepAliveTimeoutMs ?? DEFAULTS.keepAliveTimeoutMs),
    pipelining: positiveInt('pool.pipelining', options.pipelining ?? DEFAULTS.pipelining),
  };
  const agent = new Agent({
    connections: resolved.connections,
    keepAliveTimeout: resolved.keepAliveTimeoutMs,
    pipelining: resolved.pipelining,
  });
  return { agent, options: resolved };
}

// One holder per process, shared by the ESM and CJS builds and duplicate installs.
const POOL_KEY = Symbol.for('supaguard.httpPool');
const globalSlot = globalThis as unknown as Record<symbol, PoolHolder | undefined>;
const pool: PoolHolder = (globalSlot[POOL_KEY] ??= {
  current: undefined,
  options: {},
  // A stable function that looks the pool up per request: clients created before
  // `configureHttpPool` or `closeHttpPool` follow the current pool instead of
  // holding a closed one.
  fetch: ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { ...init, dispatcher: currentPool().agent })) as unknown as typeof globalThis.fetch,
});

function currentPool(): PoolState {
  return (pool.current ??= createPool(pool.options));
}

/**
 * Sets the options of the shared keep-alive pool. Call it once at start-up;
 * calling it later switches every client to a new pool and closes the old one
 * gracefully (in-flight requests finish).
 *
 * @param options - Pool limits; omitted fields keep their defaults.
 * @throws {@link index.ConfigurationError | ConfigurationError} when an option is not a positive integer.
 * @example
 * ```ts
 * configureHttpPool({ connections: 256 });
 * ```
 */
export function configureHttpPool(options: HttpPoolOptions): void {
  const next = createPool(options);
  const previous = pool.current;
  pool.options = next.options;
  pool.current = next;
  if (previous) void previous.agent.close().catch(() => undefined);
}

/**
 * The `fetch` every supaguard client uses: undici's fetch over one keep-alive
 * `Agent` per process (shared by the ESM and CJS builds). The function is
 * stable; it always uses the current pool.
 *
 * @example
 * ```ts
 * const res = await sharedFetch()('https://example.supabase.co/rest/v1/');
 * ```
 */
export function sharedFetch(): typeof globalThis.fetch {
  return pool.fetch;
}

/**
 * The options the shared pool runs with.
 *
 * @example
 * ```ts
 * console.log(httpPoolOptions().connections); // 128
 * ```
 */
export function httpPoolOptions(): Readonly<Required<HttpPoolOptions>> {
  return currentPool().options;
}

/**
 * Closes the shared pool's sockets (waiting for in-flight requests). A later
 * request opens a new pool with the same options.
 *
 * @example
 * ```ts
 * process.on('SIGTERM', () => closeHttpPool());
 * ```
 */
export async function closeHttpPool(): Promise<void> {
  const closing = pool.current;
  pool.current = undefined;
  if (closing) await closing.agent.close();
}
