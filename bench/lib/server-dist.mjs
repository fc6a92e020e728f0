// Where the bench loads Tessera from: packages/server/dist (after `npm run build`), or another
// build named by TESSERA_BENCH_SERVER_DIST (e.g. a snapshot of a given commit).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const serverDist = resolve(
  process.env.TESSERA_BENCH_SERVER_DIST ?? join(root, 'packages', 'server', 'dist'),
);

export function assertBuilt() {
  if (!existsSync(join(serverDist, 'index.js'))) {
    throw new Error(
      `${serverDist}/index.js is missing: run \`npm run build\` first (or set TESSERA_BENCH_SERVER_DIST).`,
    );
  }
}

/** Imports a module of the server build, e.g. `index.js` or `crypto/credentials.js`. */
export const importServer = (rel = 'index.js') => import(pathToFileURL(join(serverDist, rel)).href);
