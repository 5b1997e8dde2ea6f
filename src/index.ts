/**
 * `supaguard` — the core. It never imports a backend library (Redis, Supabase,
 * Postgres, a web framework): those live behind their own subpaths.
 *
 * @module
 */
export * from './errors.js';
export * from './resilience/index.js';
export * from './auth/index.js';
export * from './cache/index.js';
export * from './observe/index.js';
