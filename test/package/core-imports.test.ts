import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// Runs against the built package (`npm test` builds first), in fresh Node
// processes, because what matters is what a user's `import 'supaguard'` loads.
const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const BACKENDS = ['ioredis', '@supabase/supabase-js', 'pg', 'express', 'fastify', 'fastify-plugin', 'undici', 'prom-client', '@opentelemetry/api'];

// ESM: a resolve hook (module.register) that refuses every backend specifier.
const esmProbe = (entry: string): string => `
import { register } from 'node:module';
const backends = ${JSON.stringify(BACKENDS)};
const hook = 'export async function resolve(s, c, next) { if (' + JSON.stringify(backends) + '.some((b) => s === b || s.startsWith(b + "/"))) throw new Error("BACKEND_LOADED:" + s); return next(s, c); }';
register('data:text/javascript,' + encodeURIComponent(hook));
await import(${JSON.stringify(entry)});
console.log('LOADED_OK');
`;

// CJS: record every specifier require() resolves.
const cjsProbe = (entry: string): string => `
const Module = require('node:module');
const seen = [];
const original = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) { seen.push(request); return original.call(this, request, ...rest); };
require(${JSON.stringify(entry)});
const backends = ${JSON.stringify(BACKENDS)};
const hit = seen.filter((s) => backends.some((b) => s === b || s.startsWith(b + '/')));
console.log(hit.length ? 'BACKEND_LOADED:' + hit.join(',') : 'LOADED_OK');
`;

async function probe(kind: 'esm' | 'cjs', entry: string): Promise<string> {
  const args = kind === 'esm' ? ['--input-type=module', '-e', esmProbe(entry)] : ['--input-type=commonjs', '-e', cjsProbe(entry)];
  try {
    const { stdout } = await run(process.execPath, args, { cwd: root });
    return stdout.trim();
  } catch (err) {
    const { stderr } = err as { stderr: string };
    const match = /BACKEND_LOADED:[^\s"']+/.exec(stderr);
    return match ? match[0] : `FAILED: ${stderr}`;
  }
}

describe('importing the core loads no backend', () => {
  it('dist exists (npm test builds first)', () => {
    expect(existsSync(`${root}dist/index.js`), 'run `npm run build` before the tests').toBe(true);
  });

  it("import 'supaguard' (ESM) loads none of the backends", async () => {
    expect(await probe('esm', `${root}dist/index.js`)).toBe('LOADED_OK');
  });

  it("require('supaguard') (CJS) loads none of the backends", async () => {
    expect(await probe('cjs', `${root}dist/index.cjs`)).toBe('LOADED_OK');
  });

  it('the probes do detect a backend (supaguard/supabase loads supabase-js)', async () => {
    expect(await probe('esm', `${root}dist/supabase.js`)).toMatch(/^BACKEND_LOADED:(@supabase\/supabase-js|undici)/);
    expect(await probe('cjs', `${root}dist/supabase.cjs`)).toMatch(/^BACKEND_LOADED:.*@supabase\/supabase-js/);
  });
});
