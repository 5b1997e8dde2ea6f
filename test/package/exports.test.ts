import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { entries } from '../../tsup.config.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, string | { import: { types: string; default: string }; require?: { types: string; default: string } }>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  sideEffects: boolean;
};

const subpaths = Object.entries(pkg.exports).filter(([path]) => path !== './package.json');

// Subpaths that cannot work from require(): ./testing needs vitest, which refuses to be
// require()d. They have an `import` condition only (CommonJS users load them with import()).
const ESM_ONLY = new Set(['./testing']);

describe('package.json exports map', () => {
  it('has exactly one tsup entry per subpath, and no extra entries', () => {
    const fromExports = subpaths.map(([path]) => (path === '.' ? 'index' : path.slice(2))).sort();
    expect(Object.keys(entries).sort()).toEqual(fromExports);
  });

  it.each(subpaths)('%s points at the files tsup emits for its entry', (path, target) => {
    const name = path === '.' ? 'index' : path.slice(2);
    expect(entries[name]).toBe(`src/${name}.ts`);
    const esm = { import: { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` } };
    const cjs = { require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` } };
    expect(target).toEqual(ESM_ONLY.has(path) ? esm : { ...esm, ...cjs });
  });

  it('is side-effect free and keeps backends as optional peers', () => {
    expect(pkg.sideEffects).toBe(false);
    for (const backend of ['@supabase/supabase-js', 'ioredis', 'pg', 'express', 'fastify']) {
      expect(pkg.dependencies[backend], `${backend} must not be a runtime dependency`).toBeUndefined();
      expect(pkg.peerDependencies[backend], `${backend} must be a peer`).toBeTypeOf('string');
      expect(pkg.peerDependenciesMeta[backend]?.optional, `${backend} must be optional`).toBe(true);
    }
  });
});
