// DESIGN §5: a secret read by a machine holding a session token (session check, policy, decrypt,
// durable audit) ≥ 30% of a bare Fastify JSON endpoint, measured side by side in one run: each target
// pinned to the server core, the load generator to the other, one target at a time.
//
// Usage: node bench/secret-read.mjs [--duration 10] [--warmup 3] [--connections 50] [--rounds 3]
//        [--loadgen auto|wrk|autocannon] [--server-core 0] [--load-core 1] [--value-bytes 64]
//        [--retries 2] [--no-quiet-wait] [--floor (also bench/targets/secret-floor.mjs, the least a
//        server keeping the invariants must do per read)]
// Prints the table and the ratio; writes bench/results/secret-read-<time>.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { cpuDelta, cpuSnapshot, waitForQuiet } from './lib/cpu.mjs';
import { pickLoadgen, runLoad } from './lib/loadgen.mjs';
import { assertBuilt, serverDist } from './lib/server-dist.mjs';
import { median } from './lib/stats.mjs';
import { startTarget } from './lib/targets.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs();
const durationSec = Number(args.duration ?? 10);
const warmupSec = Number(args.warmup ?? 3);
const connections = Number(args.connections ?? 50);
const rounds = Number(args.rounds ?? 1);
const retries = Number(args.retries ?? 2);
const serverCore = args['server-core'] ?? '0';
const loadCore = args['load-core'] ?? '1';
const valueBytes = Number(args['value-bytes'] ?? 64);
const tool = pickLoadgen(args.loadgen ?? 'auto');
const BUDGET = 0.3;
const NOISE_PCT = 15;
const TARGETS = [
  {
    name: 'bare-fastify',
    key: 'bare-fastify',
    label: 'bare Fastify GET (small JSON)',
    load: { path: '/v1/json', method: 'GET' },
  },
  // The reference `npm run bench` uses (information only here: a POST with a small JSON body).
  {
    name: 'bare-fastify',
    key: 'bare-fastify-post',
    label: 'bare Fastify POST (small JSON)',
    load: { path: '/v1/echo', body: '{"clientId":"bench-client","hello":"world"}' },
  },
  { name: 'tessera-secret-read', key: 'tessera-secret-read', label: 'Tessera GET /v1/secrets/value' },
  // --floor: the least a server keeping the invariants must do for the same read.
  ...(args.floor
    ? [{ name: 'secret-floor', key: 'secret-floor', label: 'the floor (secret-floor.mjs)' }]
    : []),
];

assertBuilt();

/** `secret.read` events on disk (SQLite data dir), to check every answered read was audited. */
async function secretReads(storeUrl) {
  if (!storeUrl?.startsWith('sqlite:')) return null;
  const { default: SQLite } = await import('better-sqlite3');
  const db = new SQLite(storeUrl.slice('sqlite:'.length), { readonly: true });
  try {
    return db.prepare(`select count(*) as n from audit_events where type = 'secret.read'`).get().n;
  } finally {
    db.close();
  }
}

async function measure(target) {
  const dataDir =
    target.name === 'tessera-secret-read' ? mkdtempSync(join(tmpdir(), 'tessera-bench-')) : null;
  const quiet = args['no-quiet-wait'] ? null : await waitForQuiet();
  const t = await startTarget(target.name, {
    core: serverCore,
    args: dataDir ? ['--data-dir', dataDir, '--value-bytes', String(valueBytes)] : [],
  });
  try {
    const load = {
      tool,
      url: t.info.url,
      path: t.info.path,
      method: t.info.method,
      headers: t.info.headers,
      connections,
      core: loadCore,
      ...target.load,
    };
    const warm = warmupSec > 0 ? await runLoad({ ...load, durationSec: warmupSec }) : null;
    const before = cpuSnapshot(t.pid);
    const r = await runLoad({ ...load, durationSec });
    const cpu = cpuDelta(before, cpuSnapshot(t.pid));
    await t.stop();
    const result = {
      target: target.key,
      ...r,
      warmup: warm,
      cpu,
      quietWait: quiet,
      reader: t.info.reader ?? null,
    };
    if (dataDir) {
      // +1: the target's probe read before it reported ready.
      const answered = r.requests - r.non2xx + (warm ? warm.requests - warm.non2xx : 0) + 1;
      result.audit = { secretReadEvents: await secretReads(t.info.storeUrl), answered };
    }
    return result;
  } catch (error) {
    await t.stop();
    throw error;
  } finally {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(
  `secret read bench: ${durationSec}s per target (+${warmupSec}s warm-up), ${connections} connections, ` +
    `${tool} on core ${loadCore}, servers on core ${serverCore}, ${rounds} round(s), ${valueBytes}-byte value`,
);
console.log(`server build: ${serverDist}`);
const runs = [];
for (let round = 1; round <= rounds; round++) {
  for (const target of TARGETS) {
    let r;
    for (let attempt = 0; attempt <= retries; attempt++) {
      process.stdout.write(`  round ${round}: ${target.key.padEnd(20)} `);
      r = await measure(target);
      r.noisy = r.cpu.foreignPct !== null && r.cpu.foreignPct > NOISE_PCT;
      if (!r.noisy || attempt === retries) break;
      console.log(`(other processes used ${r.cpu.foreignPct}% of a core meanwhile: measuring again)`);
    }
    r.round = round;
    runs.push(r);
    const bad = r.non2xx + r.errors;
    console.log(
      `${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  ` +
        `[server CPU ${r.cpu.serverPct ?? '?'}%, other processes ${r.cpu.foreignPct ?? '?'}%]` +
        `${bad ? `  (!) ${r.non2xx} non-2xx, ${r.errors} errors` : ''}${r.noisy ? '  (!) machine busy' : ''}`,
    );
  }
}

const summary = Object.fromEntries(
  TARGETS.map(({ key }) => {
    const rs = runs.filter((r) => r.target === key);
    return [
      key,
      {
        rps: median(rs.map((r) => r.rps)),
        p50Ms: median(rs.map((r) => r.p50Ms)),
        p99Ms: median(rs.map((r) => r.p99Ms)),
        rounds: rs.map((r) => Math.round(r.rps)),
      },
    ];
  }),
);
const perRoundAgainst = (ref) => {
  const out = [];
  for (let round = 1; round <= rounds; round++) {
    const a = runs.find((r) => r.round === round && r.target === 'tessera-secret-read');
    const b = runs.find((r) => r.round === round && r.target === ref);
    out.push(Math.round((a.rps / b.rps) * 1000) / 1000);
  }
  return out;
};
const perRound = perRoundAgainst('bare-fastify');
const perRoundPost = perRoundAgainst('bare-fastify-post');
const ratio = summary['tessera-secret-read'].rps / summary['bare-fastify'].rps;
const ratioPost = summary['tessera-secret-read'].rps / summary['bare-fastify-post'].rps;
console.log('');
for (const { key, label } of TARGETS) {
  const s = summary[key];
  console.log(
    `${label.padEnd(32)} ${s.rps.toFixed(0).padStart(7)} req/s  p50 ${s.p50Ms.toFixed(2)} ms  p99 ${s.p99Ms.toFixed(2)} ms  [${s.rounds.join(', ')}]`,
  );
}
console.log(
  `\nsecret read / bare Fastify: ${(ratio * 100).toFixed(1)}%  (per round: ${perRound.map((x) => `${(x * 100).toFixed(1)}%`).join(', ')})  ` +
    `budget >= ${BUDGET * 100}%: ${ratio >= BUDGET ? 'MET' : 'MISSED'}`,
);
console.log(
  `secret read / bare Fastify POST (the npm run bench reference): ${(ratioPost * 100).toFixed(1)}%  ` +
    `(per round: ${perRoundPost.map((x) => `${(x * 100).toFixed(1)}%`).join(', ')})`,
);
if (summary['secret-floor']) {
  const floor = summary['secret-floor'].rps;
  console.log(
    `the floor / bare Fastify: ${((floor / summary['bare-fastify'].rps) * 100).toFixed(1)}%; ` +
      `secret read / the floor: ${((summary['tessera-secret-read'].rps / floor) * 100).toFixed(1)}%`,
  );
}
const reader = runs.find((r) => r.reader)?.reader;
if (reader) console.log(`reader: ${reader}`);
for (const r of runs.filter((x) => x.audit)) {
  const { secretReadEvents: events, answered } = r.audit;
  // The load generator stops counting with up to one request in flight per connection and phase.
  const ok = events !== null && events >= answered && events <= answered + 2 * connections;
  console.log(
    `  durable audit (round ${r.round}): ${events} secret.read events on disk for ${answered} answered reads` +
      `${ok ? ' (consistent: one per read)' : ' (!) inconsistent'}`,
  );
}

const resultsDir = join(root, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `secret-read-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      kind: 'secret-read',
      machine: { nproc: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      settings: {
        durationSec,
        warmupSec,
        connections,
        rounds,
        loadgen: tool,
        serverCore,
        loadCore,
        valueBytes,
      },
      summary,
      ratio,
      perRound,
      ratioAgainstPost: ratioPost,
      perRoundAgainstPost: perRoundPost,
      budget: BUDGET,
      runs,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nresults: ${file}`);
