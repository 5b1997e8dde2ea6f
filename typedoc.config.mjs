// TypeDoc API reference (`npm run docs` -> docs/api/, gitignored). Entry points come
// from package.json `exports`, so every subpath is documented as soon as it is exported.
// Warnings are errors: an undocumented export, a broken {@link} or a type that is
// used by the public API but not exported fails the build.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const entryPoints = Object.keys(pkg.exports)
  .filter((subpath) => subpath !== './package.json')
  .map((subpath) => (subpath === '.' ? 'src/index.ts' : `src/${subpath.slice(2)}.ts`));

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'supaguard',
  entryPoints,
  out: 'docs/api',
  tsconfig: 'tsconfig.docs.json',
  plugin: ['./scripts/typedoc-core-links.mjs'],
  readme: 'none',
  excludePrivate: true,
  excludeInternal: true,
  excludeExternals: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, invalidPath: true, rewrittenLink: true, notDocumented: true, unusedMergeModuleWith: true },
  // Every exported declaration needs a doc comment; exported functions are checked by
  // scripts/typedoc-core-links.mjs ('Function' here would also require one per interface method).
  requiredToBeDocumented: ['Enum', 'Variable', 'Class', 'Interface', 'TypeAlias'],
  // Types other modules reference without exporting them (owners: export them, then delete the line).
  intentionallyNotExported: ['JwksAlgorithm', 'LatencySummary', 'Handler'],
  externalSymbolLinkMappings: { supaguard: { FailureBreaker: '#' } },
  sort: ['source-order'],
  githubPages: false,
  // No hosted repository yet: a clone's "origin" is a local path, which would only give broken source links.
  disableSources: true,
  hideGenerator: true,
};
