import { defineConfig } from 'tsup';

/**
 * One tsup entry per subpath export in package.json. The key is the output
 * file name in dist/, the value the source entry. `test/package/exports.test.ts`
 * fails when this map and the package.json `exports` map disagree.
 */
export const entries: Record<string, string> = {
  index: 'src/index.ts',
  supabase: 'src/supabase.ts',
  fastify: 'src/fastify.ts',
  express: 'src/express.ts',
  postgres: 'src/postgres.ts',
  prometheus: 'src/prometheus.ts',
  otel: 'src/otel.ts',
  redis: 'src/redis.ts',
  testing: 'src/testing.ts',
};

export default defineConfig({
  entry: entries,
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  splitting: true,
  treeshake: true,
  // Peers and runtime dependencies stay external: the core must never pull a
  // backend library into its bundle.
  skipNodeModulesBundle: true,
  // import.meta.url in the CJS build (the realtime transport resolves `ws` lazily).
  shims: true,
});
