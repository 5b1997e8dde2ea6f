/**
 * `supaguard/supabase` — one Supabase client per config per process, cheap
 * per-user query clients, a shared keep-alive pool, and queries that really
 * abort on timeout.
 *
 * @module
 */
export { getSupabaseClient, closeSupabaseClients, resetSupabaseClients, supabaseClientCount } from './client/registry.js';
export { getUserClient, type UserClient } from './client/user-client.js';
export { runQuery, DEFAULT_QUERY_TIMEOUT_MS, type RunQueryOptions, type QueryBuilderLike, type QueryResponseLike, type QuerySuccessLike, type PostgrestErrorLike, type DataOf } from './client/run-query.js';
export { configureHttpPool, closeHttpPool, httpPoolOptions, sharedFetch, type HttpPoolOptions } from './client/http-pool.js';
export { fingerprint, validateSupabaseConfig, type SupabaseConfig } from './client/config.js';
export { LazyWebSocket } from './client/realtime-transport.js';
