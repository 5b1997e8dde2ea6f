#!/usr/bin/env node
/**
 * Consumer test: packs the tarball the way `npm publish` would, installs it (and
 * the optional peers its subpaths load) into a temporary workspace, and runs four
 * small consumer projects against it:
 *
 *   esm/          JavaScript, "type": "module", `import` of every subpath
 *   cjs/          JavaScript, CommonJS, `require` of every subpath
 *   ts-nodenext/  TypeScript, moduleResolution NodeNext: tsc type-checks, emits, and the output runs
 *   ts-bundler/   TypeScript, moduleResolution Bundler: tsc type-checks
 *
 * The subpaths come from package.json `exports`, so a new subpath is covered as
 * soon as it is exported. Each project calls one function per subpath: the call
 * listed in SMOKE below, or, for a subpath without an entry, one of its exported
 * `is…` guards (and it prints a notice asking for a SMOKE entry).
 *
 * It also prints the tarball's size and file list, and fails when the tarball
 * contains anything but dist/, docs/sql/, README, CHANGELOG, LICENSE and package.json.
 *
 * Usage: npm run consumer-test   (builds first when dist/ is missing)
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const keep = process.argv.includes('--keep');

/**
 * One call per subpath, run by every consumer project. `js` is an expression
 * using the subpath's namespace `m` (an ES module namespace or a require() result);
 * it must evaluate to something truthy, or a promise of it. TypeScript projects
 * type-check the same expression.
 */
const SMOKE = {
  '.': `m.isSupaguardError(new m.ConfigurationError('url', 'is required')) && !m.isSupaguardError(new Error('x'))`,
  './supabase': `(() => {
    const client = m.getSupabaseClient({ url: 'https://consumer.supabase.co', key: 'sb_publishable_consumer' });
    const same = m.getSupabaseClient({ url: 'https://consumer.supabase.co', key: 'sb_publishable_consumer' });
    const user = m.getUserClient({ url: 'https://consumer.supabase.co', key: 'sb_publishable_consumer' }, 'a.b.c');
    return client === same && typeof user.from === 'function' ? m.closeSupabaseClients().then(() => true) : false;
  })()`,
};

const ALLOWED_FILE = /^(dist\/.+|docs\/sql\/.+|README\.md|CHANGELOG\.md|LICENSE|package\.json)$/;
const FORBIDDEN_FILE = /(^|\/)(src|test|tests|bench|examples|coverage)\/|\.(test|spec|bench)\.|\.test-d\./;

function sh(command, args, cwd, options = {}) {
  const t0 = Date.now();
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (err) {
    process.stderr.write(`\n✗ ${command} ${args.join(' ')} (in ${cwd}) failed:\n${err.stdout ?? ''}${err.stderr ?? ''}\n`);
    throw err;
  } finally {
    if (process.env.CONSUMER_TIMINGS) console.log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s: ${command === process.execPath ? 'node' : command} ${args.slice(0, 2).join(' ')})`);
  }
}

const execFileAsync = promisify(execFile);
async function shAsync(command, args, cwd) {
  try {
    const { stdout } = await execFileAsync(command, args, { cwd, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

const fmtBytes = (n) => (n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

function pack(into) {
  if (!existsSync(join(root, 'dist/index.js'))) {
    console.log('dist/ missing: npm run build');
    sh('npm', ['run', 'build'], root, { stdio: 'inherit' });
  }
  const [info] = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', into], root));
  console.log(`\nTarball ${info.filename}: ${fmtBytes(info.size)} packed, ${fmtBytes(info.unpackedSize)} unpacked, ${info.files.length} files`);
  for (const file of info.files) console.log(`  ${file.path.padEnd(44)} ${fmtBytes(file.size).padStart(10)}`);
  const bad = info.files.map((f) => f.path).filter((p) => !ALLOWED_FILE.test(p) || FORBIDDEN_FILE.test(p));
  if (bad.length > 0) throw new Error(`the tarball contains files users do not need:\n  ${bad.join('\n  ')}`);
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const files = typeof target === 'string' ? [target] : [target.import.types, target.import.default, target.require.types, target.require.default];
    for (const file of files) {
      if (!info.files.some((f) => `./${f.path}` === file)) throw new Error(`exports["${subpath}"] points at ${file}, which is not in the tarball`);
    }
  }
  return join(into, info.filename);
}

/** The peers to install: every declared peer, at the version the repository develops against. */
function peerInstallSpecs() {
  const dev = pkg.devDependencies ?? {};
  const specs = [];
  for (const [name, range] of Object.entries(pkg.peerDependencies ?? {})) {
    specs.push(`${name}@${dev[name] ?? range}`);
    const typesName = `@types/${name.replace(/^@([^/]+)\//, '$1__')}`;
    if (dev[typesName]) specs.push(`${typesName}@${dev[typesName]}`);
  }
  specs.push(`@types/node@${dev['@types/node'] ?? '20'}`);
  return specs;
}

const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json');
const specifier = (subpath) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`);

function smokeExpression(subpath) {
  if (SMOKE[subpath]) return SMOKE[subpath];
  console.log(`  notice: no SMOKE entry for "${subpath}" in test/consumer/run.mjs; calling one of its is… guards instead`);
  // Generic call: an exported guard must answer false for a plain Error.
  return `(() => {
    const guard = Object.entries(m).find(([name, value]) => /^is[A-Z]/.test(name) && typeof value === 'function');
    if (Object.keys(m).length === 0) throw new Error('${subpath} exports nothing');
    return guard ? guard[1](new Error('x')) === false : Object.values(m).some((v) => typeof v === 'function');
  })()`;
}

/** The body shared by every project: one check per subpath, then a final OK line. */
function checks(namespaceOf) {
  return subpaths
    .map((subpath, i) => {
      return `{
  const m = ${namespaceOf(i)};
  const ok = await (${smokeExpression(subpath)});
  if (!ok) throw new Error(${JSON.stringify(`smoke call for ${subpath} returned a falsy value`)});
  results.push(${JSON.stringify(subpath)});
}`;
    })
    .join('\n');
}

function writeProjects(workspace) {
  const esmImports = subpaths.map((s, i) => `import * as ns${i} from '${specifier(s)}';`).join('\n');
  const main = (body) => `const results${body.ts ? ': string[]' : ''} = [];\n${body.code}\nconsole.log('CONSUMER_OK ' + results.join(' '));\n`;

  const esm = join(workspace, 'esm');
  mkdirSync(esm);
  writeFileSync(join(esm, 'package.json'), JSON.stringify({ name: 'consumer-esm', private: true, type: 'module' }));
  writeFileSync(join(esm, 'index.js'), `${esmImports}\n${main({ code: checks((i) => `ns${i}`) })}`);

  const cjs = join(workspace, 'cjs');
  mkdirSync(cjs);
  writeFileSync(join(cjs, 'package.json'), JSON.stringify({ name: 'consumer-cjs', private: true, type: 'commonjs' }));
  const requires = subpaths.map((s, i) => `const ns${i} = require('${specifier(s)}');`).join('\n');
  writeFileSync(join(cjs, 'index.js'), `'use strict';\n${requires}\n(async () => {\n${main({ code: checks((i) => `ns${i}`) })}})().catch((err) => { console.error(err); process.exit(1); });\n`);

  // TypeScript: the namespaces are typed; smoke expressions index them as `any` only
  // where the generic fallback needs it, so the known calls are fully type-checked.
  const tsNamespace = (i) => (SMOKE[subpaths[i]] ? `ns${i}` : `(ns${i} as Record<string, any>)`);
  const tsSource = `${esmImports}\n${main({ ts: true, code: checks(tsNamespace) })}export {};\n`;
  const common = { strict: true, target: 'ES2022', lib: ['ES2023', 'DOM'], types: ['node'], skipLibCheck: true, noUncheckedIndexedAccess: true, verbatimModuleSyntax: true };

  const nodenext = join(workspace, 'ts-nodenext');
  mkdirSync(nodenext);
  writeFileSync(join(nodenext, 'package.json'), JSON.stringify({ name: 'consumer-ts-nodenext', private: true, type: 'module' }));
  writeFileSync(join(nodenext, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...common, module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out' }, files: ['index.ts'] }, null, 2));
  writeFileSync(join(nodenext, 'index.ts'), tsSource);

  const bundler = join(workspace, 'ts-bundler');
  mkdirSync(bundler);
  writeFileSync(join(bundler, 'package.json'), JSON.stringify({ name: 'consumer-ts-bundler', private: true, type: 'module' }));
  writeFileSync(join(bundler, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...common, module: 'ESNext', moduleResolution: 'Bundler', noEmit: true }, files: ['index.ts'] }, null, 2));
  writeFileSync(join(bundler, 'index.ts'), tsSource);
  return { esm, cjs, nodenext, bundler };
}

function expectOk(label, output) {
  const line = output.split('\n').find((l) => l.startsWith('CONSUMER_OK'));
  const seen = line?.split(' ').slice(1) ?? [];
  const missing = subpaths.filter((s) => !seen.includes(s));
  if (!line || missing.length > 0) throw new Error(`${label}: expected CONSUMER_OK for every subpath, missing ${missing.join(', ')}\n${output}`);
  console.log(`✓ ${label}: ${subpaths.length} subpaths imported, one function each called`);
}

const workspace = mkdtempSync(join(tmpdir(), 'supaguard-consumer-'));
const started = Date.now();
try {
  const tarball = pack(workspace);
  writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: 'consumer-workspace', private: true }));
  const peers = peerInstallSpecs();
  console.log(`\nInstalling the tarball with ${peers.join(' ')}`);
  sh('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--prefer-offline', '--loglevel=error', tarball, ...peers], workspace);

  const projects = writeProjects(workspace);
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  // The four projects are independent: run them side by side.
  await Promise.all([
    shAsync(process.execPath, ['index.js'], projects.esm).then((out) => expectOk('ESM JavaScript', out)),
    shAsync(process.execPath, ['index.js'], projects.cjs).then((out) => expectOk('CommonJS JavaScript', out)),
    shAsync(process.execPath, [tsc, '-p', 'tsconfig.json'], projects.nodenext)
      .then(() => shAsync(process.execPath, ['out/index.js'], projects.nodenext))
      .then((out) => expectOk('TypeScript (NodeNext, type-checked and run)', out)),
    shAsync(process.execPath, [tsc, '-p', 'tsconfig.json'], projects.bundler).then(() => console.log('✓ TypeScript (Bundler): type-checks')),
  ]);
  console.log(`\nConsumer test passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} finally {
  if (keep) console.log(`workspace kept at ${workspace}`);
  else rmSync(workspace, { recursive: true, force: true });
}
