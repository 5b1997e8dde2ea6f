import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = fileURLToPath(new URL('./src/', import.meta.url));

export default defineConfig({
  // The example apps import the package by name; in tests that is the sources (as in tsconfig paths).
  resolve: {
    alias: [
      { find: /^supaguard$/, replacement: `${src}index.ts` },
      { find: /^supaguard\/(.*)$/, replacement: `${src}$1.ts` },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration suites talk to shared Redis / Postgres; forks keep native
    // handles and AsyncLocalStorage state isolated per file.
    pool: 'forks',
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
