// Paired A/B of server CPU per request: two builds of one Tessera target started side by side
// (both pinned to the server core), loaded in alternating short bursts, so both see the same
// background load; prints each burst's server µs/request and the median of the paired ratios.
// More robust than separate runs on a shared machine (what else runs shifts both alike).
// Usage: node bench/ab.mjs --a-dist DIR --b-dist DIR [--target tessera|tessera-secret-read]
//        [--pairs 8] [--duration 3 (whole seconds: wrk)] [--warmup 3] [--connections 50]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './lib/args.mjs';
import { cpuDelta, cpuSnapshot, cpuUsPerRequest } from './lib/cpu.mjs';
import { pickLoadgen, runLoad } from './lib/loadgen.mjs';
import { median } from './lib/stats.mjs';
import { startTarget } from './lib/targets.mjs';

const args = parseArgs();
const target = String(args.target ?? 'tessera');
const pairs = Number(args.pairs ?? 8);
const durationSec = Number(args.duration ?? 3);
const warmupSec = Number(args.warmup ?? 3);
const connections = Number(args.connections ?? 50);
const serverCore = args['server-core'] ?? '0';
const loadCore = args['load-core'] ?? '1';
const tool = pickLoadgen(args.loadgen ?? 'auto');
const dists = { A: String(args['a-dist']), B: String(args['b-dist']) };

const started = {};
const dirs = [];
for (const [key, dist] of Object.entries(dists)) {
  const dataDir = mkdtempSync(join(tmpdir(), `tessera-ab-${key}-`));
  dirs.push(dataDir);
  started[key] = await startTarget(target, {
    core: serverCore,
    env: { TESSERA_BENCH_SERVER_DIST: dist },
    args:
      target === 'tessera'
        ? ['--tokens', '1000', '--data-dir', dataDir, '--bodies', join(dataDir, 'bodies.jsonl')]
        : ['--data-dir', dataDir],
  });
}
const loadOf = (t) => ({
  tool,
  url: t.info.url,
  path: t.info.path,
  bodiesFile: t.info.bodiesFile,
  method: t.info.method,
  headers: t.info.headers,
  connections,
  core: loadCore,
});
const us = { A: [], B: [] };
const ratios = [];
try {
  for (const key of ['A', 'B']) await runLoad({ ...loadOf(started[key]), durationSec: warmupSec });
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
    const round = {};
    for (const key of order) {
      const t = started[key];
      const a = cpuSnapshot(t.pid);
      const r = await runLoad({ ...loadOf(t), durationSec });
      const b = cpuSnapshot(t.pid);
      const { foreignPct } = cpuDelta(a, b);
      round[key] = cpuUsPerRequest(a, b, r.requests);
      us[key].push(round[key]);
      console.log(
        `  pair ${i + 1} ${key}: ${r.rps.toFixed(0)} req/s, ${round[key]} µs/request, other processes ${foreignPct}%`,
      );
    }
    ratios.push(round.A / round.B);
  }
} finally {
  for (const t of Object.values(started)) await t.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
console.log(`A ${dists.A}\nB ${dists.B}`);
console.log(`median µs/request: A ${median(us.A)}, B ${median(us.B)}`);
console.log(
  `A/B per pair: ${ratios.map((r) => r.toFixed(3)).join(', ')}; median ${median(ratios).toFixed(3)}`,
);
