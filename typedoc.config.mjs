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
  readme: 'none',
  excludePrivate: true,
  excludeInternal: true,
  excludeExternals: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, invalidPath: true, rewrittenLink: true, notDocumented: true, unusedMergeModuleWith: true },
  requiredToBeDocumented: ['Enum', 'EnumMember', 'Variable', 'Function', 'Class', 'Interface', 'Property', 'Method', 'Accessor', 'TypeAlias'],
  intentionallyNotExported: [],
  sort: ['source-order'],
  githubPages: false,
  hideGenerator: true,
};
