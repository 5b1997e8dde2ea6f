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
  fetch: typeof globalThis.fetch;
  options: Required<HttpPoolOptions>;
}

const POOL_KEY = Symbol.for('supaguard.httpPool');
const holder = globalThis as unknown as Record<symbol, PoolState | undefined>;

const DEFAULTS: Required<HttpPoolOptions> = { connections: 128, keepAliveTimeoutMs: 30_000, pipelining: 1 };

function positiveInt(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigurationError(field, 'must be a positive integer');
  }
  return value;
}

function createPool(options: HttpPoolOptions): PoolState {
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
  const pooledFetch = ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { ...init, dispatcher: agent })) as unknown as typeof globalThis.fetch;
  return { agent, fetch: pooledFetch, options: resolved };
}

/**
 * Sets the options of the shared keep-alive pool. Call it once at start-up,
 * before the first client is created; calling it later replaces the pool for
 * clients created afterwards and closes the old one gracefully.
 *
 * @throws {@link ConfigurationError} when an option is not a positive integer.
 * @example
 * ```ts
 * configureHttpPool({ connections: 256 });
 * ```
 */
export function configureHttpPool(options: HttpPoolOptions): void {
  const next = createPool(options);
  const previous = holder[POOL_KEY];
  holder[POOL_KEY] = next;
  if (previous) void previous.agent.close().catch(() => undefined);
}

/**
 * The `fetch` every supaguard client uses: undici's fetch over one keep-alive
 * `Agent` per process (shared by the ESM and CJS builds).
 *
 * @example
 * ```ts
 * const res = await sharedFetch()('https://example.supabase.co/rest/v1/');
 * ```
 */
export function sharedFetch(): typeof globalThis.fetch {
  return (holder[POOL_KEY] ??= createPool({})).fetch;
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
  return (holder[POOL_KEY] ??= createPool({})).options;
}

/**
 * Closes the shared pool's sockets (waiting for in-flight requests). A later
 * request creates a new pool.
 *
 * @example
 * ```ts
 * process.on('SIGTERM', () => closeHttpPool());
 * ```
 */
export async function closeHttpPool(): Promise<void> {
  const pool = holder[POOL_KEY];
  holder[POOL_KEY] = undefined;
  if (pool) await pool.agent.close();
}
