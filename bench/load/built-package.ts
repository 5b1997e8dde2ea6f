// Load-test servers run supaguard as users install it: the tsup build in dist/, not the
// sources through tsx (whose transform adds work per named closure that the build has not).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The environment for a server child process (`node --import tsx …`) whose `import 'supaguard'` must load
 * dist/. Throws when dist/ is missing or older than src/: run `npm run build` first.
 */
export function builtPackageEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const dist = join(root, 'dist', 'index.js');
  if (!existsSync(dist) || statSync(dist).mtimeMs < newestMtime(join(root, 'src'))) {
    throw new Error('bench/load measures the built package: run `npm run build` first (dist/ is missing or older than src/).');
  }
  return { ...env, TSX_TSCONFIG_PATH: join(root, 'bench', 'load', 'tsconfig.built.json') };
}
