// CPU profile of the Tessera target under the same load as `npm run bench` (POST /v1/auth with
// rotating UID tokens): `node --cpu-prof` for the whole target run, warm-up + --duration (5 s).
// Prints the top self-time functions and packages; keeps the profile in bench/results/.
// Usage: node bench/profile.mjs [--duration 5] [--warmup 3] [--connections 50] [--tokens 1000]
//        node bench/profile.mjs --target tessera-secret-read   (the secret read of bench/secret-read.mjs)
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { printSummary, summarise } from './lib/cpuprofile.mjs';
import { pickLoadgen, runLoad } from './lib/loadgen.mjs';
import { assertBuilt, serverDist } from './lib/server-dist.mjs';
import { startTarget } from './lib/targets.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs();
const durationSec = Number(args.duration ?? 5);
const warmupSec = Number(args.warmup ?? 3);
assertBuilt();
const profDir = join(root, 'bench', 'results', 'profiles');
mkdirSync(profDir, { recursive: true });
const targetName = String(args.target ?? 'tessera');
const name = `${targetName}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`;
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-prof-'));
const t = await startTarget(targetName, {
  core: args['server-core'] ?? '0',
  nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', name],
  args:
    targetName === 'tessera'
      ? [
          '--tokens',
          String(args.tokens ?? 1000),
          '--data-dir',
          dataDir,
          '--bodies',
          join(dataDir, 'bodies.jsonl'),
        ]
      : ['--data-dir', dataDir],
});
const load = {
  tool: pickLoadgen(args.loadgen ?? 'auto'),
  url: t.info.url,
  path: t.info.path,
  bodiesFile: t.info.bodiesFile,
  method: t.info.method,
  headers: t.info.headers,
  connections: Number(args.connections ?? 50),
  core: args['load-core'] ?? '1',
};
await runLoad({ ...load, durationSec: warmupSec });
const loadStart = process.hrtime.bigint();
const r = await runLoad({ ...load, durationSec });
const loadEnd = process.hrtime.bigint();
await t.stop();
const stopped = process.hrtime.bigint();
// The profile ends when the target exits: keep only samples of the measured load phase.
const window = [Number(stopped - loadStart) / 1000, Number(stopped - loadEnd) / 1000];
rmSync(dataDir, { recursive: true, force: true });
const file = join(profDir, name);
if (!readdirSync(profDir).includes(name)) throw new Error('no profile was written');
console.log(`server build: ${serverDist}`);
console.log(
  `load: ${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms (profiler on: slower than the bench)`,
);
const s = summarise(file, { root, top: Number(args.top ?? 30), window });
console.log(`\nprofile ${file} (measured phase: ${durationSec} s)`);
printSummary(s);
