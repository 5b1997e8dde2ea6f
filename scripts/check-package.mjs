#!/usr/bin/env node
// `npm run check:package`: publint (strict) and arethetypeswrong on the packed tarball,
// for every subpath in package.json `exports`. Dual (import + require) subpaths are held
// to attw's strict profile (node10, node16 from CJS and ESM, bundler); a subpath with
// only an `import` condition is ESM-only on purpose (e.g. ./testing, because vitest
// cannot be require()d) and is checked with the esm-only profile.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const bin = (name) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json');
const esmOnly = subpaths.filter((s) => typeof pkg.exports[s] === 'object' && !pkg.exports[s].require);
const dual = subpaths.filter((s) => !esmOnly.includes(s));
const entry = (s) => (s === '.' ? '.' : s.slice(2));

run(bin('publint'), ['--strict']);
run(bin('attw'), ['--pack', '.', '--profile', 'strict', '--entrypoints', ...dual.map(entry)]);
if (esmOnly.length > 0) run(bin('attw'), ['--pack', '.', '--profile', 'esm-only', '--entrypoints', ...esmOnly.map(entry)]);
console.log(`\npublint and attw passed for ${subpaths.length} subpaths (${dual.length} dual ESM/CJS, ${esmOnly.length} ESM-only: ${esmOnly.join(', ') || 'none'})`);
