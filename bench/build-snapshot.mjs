// Builds the server of a given commit into a directory outside the work tree, so a bench can run
// against a fixed version while packages/ changes: prints the dist path to pass as
// TESSERA_BENCH_SERVER_DIST.
// Usage: node bench/build-snapshot.mjs [<commit>=HEAD] [<dir>=/tmp/tessera-snapshot-<sha>]
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const commit = process.argv[2] ?? 'HEAD';
const sha = execSync(`git rev-parse --short ${commit}`, { cwd: root }).toString().trim();
const dir = process.argv[3] ?? join(tmpdir(), `tessera-snapshot-${sha}`);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const tree = execSync(`git ls-tree --name-only ${sha} packages/`, { cwd: root })
  .toString()
  .split('\n')
  .filter(Boolean);
const wanted = [
  'tsconfig.base.json',
  'package.json',
  ...tree.filter((p) => p === 'packages/server' || p === 'packages/sdk'),
];
execSync(`git archive ${sha} ${wanted.join(' ')} | tar -x -C ${dir}`, {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
});
symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
const serverTsconfig = join(dir, 'packages/server/tsconfig.json');
if (!existsSync(join(dir, 'packages/sdk'))) {
  const cfg = JSON.parse(readFileSync(serverTsconfig, 'utf8'));
  delete cfg.references;
  writeFileSync(serverTsconfig, JSON.stringify(cfg));
}
execSync(`${join(root, 'node_modules/.bin/tsc')} -b packages/server`, { cwd: dir, stdio: 'inherit' });
console.log(join(dir, 'packages/server/dist'));
