import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'docs/api/**', 'bench/results/**', '**/fixtures/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.property.name="only"]',
          message: 'No .only in committed tests.',
        },
      ],
    },
  },
  {
    // supabase-js's own generics default to `any` (Database = any); the client factory mirrors them.
    files: ['src/client/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/supabase.ts', 'src/client/**', 'src/redis.ts', 'src/layers/redis*.ts', 'src/postgres.ts', 'src/postgres/**', 'src/express.ts', 'src/adapters/**', 'src/fastify.ts', 'src/prometheus.ts', 'src/otel.ts', 'src/observe/prometheus*.ts', 'src/observe/otel*.ts', 'src/testing.ts', 'src/testing/**'],
    rules: {
      // The core must never import a backend; those live behind subpaths.
      'no-restricted-imports': [
        'error',
        {
          paths: ['ioredis', '@supabase/supabase-js', 'express', 'fastify', 'fastify-plugin', 'pg', 'undici', 'prom-client', '@opentelemetry/api', 'vitest'].map((name) => ({
            name,
            message: 'The core must not import a backend library: put this behind a subpath export.',
          })),
        },
      ],
    },
  },
);
