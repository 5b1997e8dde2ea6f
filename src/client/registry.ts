import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { closeHttpPool, sharedFetch } from './http-pool.js';
import { configKey, type SupabaseConfig } from './config.js';
import { LazyWebSocket } from './realtime-transport.js';

const REGISTRY_KEY = Symbol.for('supaguard.clients');
const holder = globalThis as unknown as Record<symbol, Map<string, SupabaseClient<any, any, any>> | undefined>;

/** The process-wide registry, shared by every copy of supaguard loaded in this process. */
function registry(): Map<string, SupabaseClient<any, any, any>> {
  return (holder[REGISTRY_KEY] ??= new Map());
}

/**
 * Returns the one `SupabaseClient` for this config in this process, creating it
 * on first use. Equal configs (same URL, key and options) share one client; the
 * registry key holds a SHA-256 fingerprint of the key, never the key.
 *
 * Server-safe defaults: `persistSession`, `autoRefreshToken` and
 * `detectSessionInUrl` are `false` unless you set them; every request goes
 * through the shared keep-alive pool; realtime is resolved lazily so creation
 * never fails on Node 20 (no native WebSocket).
 *
 * @param config - `{ url, key, options? }`; `options` are supabase-js `createClient` options.
 * @throws {@link index.ConfigurationError | ConfigurationError} when the URL, key or options are invalid.
 * @example
 * ```ts
 * import { getSupabaseClient } from 'supaguard/supabase';
 * const supabase = getSupabaseClient({ url: process.env.SUPABASE_URL!, key: process.env.SUPABASE_SECRET_KEY! });
 * const { data } = await supabase.from('projects').select('id').limit(1);
 * ```
 */
export function getSupabaseClient<Database = any>(config: SupabaseConfig<string>): SupabaseClient<Database> {
  const key = registryKeyOf(config);
  const clients = registry();
  let client = clients.get(key);
  if (client === undefined) {
    client = createServerClient(config);
    clients.set(key, client);
  }
  return client as SupabaseClient<Database>;
}

interface KnownConfig {
  url: string;
  key: string;
  options: unknown;
  registryKey: string;
}

// Hot path: a config object seen before is recognised by identity (plus a cheap
// check that url, key and options were not swapped) instead of re-validating and
// re-hashing it on every call. Options objects are treated as immutable once used.
const knownConfigs = new WeakMap<object, KnownConfig>();

function registryKeyOf(config: SupabaseConfig<string>): string {
  if (typeof config === 'object' && config !== null) {
    const known = knownConfigs.get(config);
    if (known !== undefined && known.url === config.url && known.key === config.key && known.options === config.options) {
      return known.registryKey;
    }
  }
  const registryKey = configKey(config);
  knownConfigs.set(config, { url: config.url, key: config.key, options: config.options, registryKey });
  return registryKey;
}

function createServerClient(config: SupabaseConfig<string>): SupabaseClient<any, any, any> {
  const options = config.options ?? {};
  return createClient(config.url, config.key, {
    ...options,
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false, ...options.auth },
    global: { ...options.global, fetch: options.global?.fetch ?? sharedFetch() },
    realtime: { ...options.realtime, transport: options.realtime?.transport ?? (LazyWebSocket as never) },
  });
}

/**
 * Number of clients in the process-wide registry (for tests and metrics).
 *
 * @example
 * ```ts
 * expect(supabaseClientCount()).toBe(1);
 * ```
 */
export function supabaseClientCount(): number {
  return registry().size;
}

/**
 * Graceful shutdown: stops every registered client's timers and realtime
 * sockets, empties the registry and closes the shared keep-alive pool.
 *
 * @example
 * ```ts
 * process.on('SIGTERM', async () => { await closeSupabaseClients(); server.close(); });
 * ```
 */
export async function closeSupabaseClients(): Promise<void> {
  const clients = [...registry().values()];
  registry().clear();
  await Promise.allSettled(
    clients.map(async (client) => {
      // realtime-js's disconnect() arms a 10 s timer it never clears, which would
      // keep a shutting-down process alive: only tear realtime down when it is in use.
      const realtime = client.realtime;
      if (client.getChannels().length > 0) await client.removeAllChannels();
      else if (realtime.isConnected() || realtime.isConnecting()) await realtime.disconnect();
      // With an `accessToken` option `auth` is a throwing proxy; there is nothing to stop then.
      try {
        await client.auth.stopAutoRefresh();
      } catch {
        /* no auth client */
      }
    }),
  );
  await closeHttpPool();
}

/**
 * Test helper: forgets every registered client without closing the pool, so the
 * next `getSupabaseClient` call creates a fresh one.
 *
 * @example
 * ```ts
 * afterEach(() => resetSupabaseClients());
 * ```
 */
export function resetSupabaseClients(): void {
  registry().clear();
}
