// DESIGN §5: durable audit append (group commit) ≥ 50,000 events/s; chain verification ≥ 200,000 events/s.
// Appends --events audit events through the server's own unit of work (every write durable, grouped
// the way concurrent requests are), then verifies the whole ledger, on SQLite.
// `--mode waves` (default): waves of --concurrency writes, each wave awaited (one commit per wave);
// `--mode steady`: --concurrency writers, each issuing its next write when the last one settled, as
// requests keep arriving at a server (commits overlap with the next batch's work).
// Also prints the process's CPU time per appended and per verified event (all threads), less
// sensitive to a loaded machine than the rate, and the event loop's delay while the server verifies
// (p99 and max: how long a request arriving then would wait for the loop), with --serve N writers
// appending all the while (a server that keeps serving; 0 to verify an idle server).
// `--base-dist DIR` (and `--rounds R`, default 2): run the whole measurement in child processes,
// alternately from the build in DIR (e.g. `node bench/build-snapshot.mjs main`) and from this one,
// R times each, and print both side by side with the ratio: the only comparison that means anything
// on a shared machine.
// Usage: node bench/audit-ledger.mjs [--events 200000] [--concurrency 512] [--mode waves|steady]
//        [--serve 8] [--base-dist DIR [--rounds 2]] [--json]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { importServer, serverDist } from './lib/server-dist.mjs';

const args = parseArgs();
const EVENTS = Number(args.events ?? 200_000);
const CONCURRENCY = Number(args.concurrency ?? 512);
const MODE = args.mode ?? 'waves';
const SERVE = Number(args.serve ?? 8);

if (args['base-dist']) {
  compare(resolve(String(args['base-dist'])), Number(args.rounds ?? 2));
} else {
  const result = await measure();
  if (args.json) console.log(JSON.stringify(result));
  else print(result);
}

async function measure() {
  const { createTessera, loadConfig, verifyAuditLedgerOffline } = await importServer();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-audit-bench-'));
  const t = await createTessera(loadConfig({ dataDir: dir, logLevel: 'silent' }, {}), { logger: false });
  const ctx = {
    requestId: 'req-bench',
    sourceIp: '127.0.0.1',
    userAgent: 'bench',
    actor: { identityId: 'i-bench' },
  };
  const event = (i) => ({
    type: 'auth.succeeded',
    outcome: 'success',
    actor: { authMethodId: 'p-bench', uidNodeId: `n${i % 1000}`, credentialRef: 'abcdef012345' },
    data: { accessType: 'universal_identity', expiresAt: '2026-11-22T12:00:00.000Z' },
  });

  let t0 = performance.now();
  let cpu0 = process.cpuUsage();
  const append = (i) => t.uow.write((r) => r.audit.append(event(i), ctx, Date.now()));
  if (MODE === 'steady') {
    let next = 0;
    const writer = async () => {
      while (next < EVENTS) await append(next++);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, writer));
  } else {
    let written = 0;
    while (written < EVENTS) {
      const wave = Math.min(CONCURRENCY, EVENTS - written);
      await Promise.all(Array.from({ length: wave }, (_, k) => append(written + k)));
      written += wave;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const appendCpuUs = (cpu.user + cpu.system) / EVENTS;
  const appendRate = EVENTS / ((performance.now() - t0) / 1000);

  // Verification in the running server, while --serve writers keep appending (each waits for its
  // commit, as a request would): the event loop's delay says whether serving was held up.
  let serving = SERVE > 0;
  let servedDuringVerify = 0;
  const writers = Array.from({ length: SERVE }, async (_, w) => {
    while (serving) {
      await append(EVENTS + w);
      servedDuringVerify++;
    }
  });
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  let last = 0;
  const report = await t.ledger.verify((checked) => {
    if (checked - last >= 50_000 && !args.json) {
      process.stderr.write(`  verified ${checked.toLocaleString('en')} events\r`);
      last = checked;
    }
  });
  const verifySec = (performance.now() - t0) / 1000;
  const verifyCpu = process.cpuUsage(cpu0);
  loop.disable();
  serving = false;
  await Promise.all(writers);
  await t.close();

  // The same verification offline (`tessera audit verify --data-dir`), with no server running: no
  // audit sink is catching up on the appended events at the same time.
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  const offline = await verifyAuditLedgerOffline(loadConfig({ dataDir: dir, logLevel: 'silent' }, {}));
  const offlineSec = (performance.now() - t0) / 1000;
  const offlineCpu = process.cpuUsage(cpu0);
  rmSync(dir, { recursive: true, force: true });
  return {
    dist: serverDist,
    events: EVENTS,
    appendRate,
    appendCpuUs,
    verifyRate: report.checkedEvents / verifySec,
    verifyCpuUs: (verifyCpu.user + verifyCpu.system) / report.checkedEvents,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
    servedDuringVerify,
    offlineRate: offline.checkedEvents / offlineSec,
    offlineCpuUs: (offlineCpu.user + offlineCpu.system) / offline.checkedEvents,
    ok: report.ok && offline.ok,
    problem: report.problem ?? offline.problem,
  };
}

function print(r) {
  const row = (what, value, budget, met) =>
    console.log(`${what.padEnd(48)} ${value.padEnd(22)} ${budget.padEnd(16)} ${met ? 'MET' : 'MISSED'}`);
  const note = (what, value) => console.log(`${`  ${what}`.padEnd(48)} ${value}`);
  console.log(
    `\nnode ${process.version}, SQLite (WAL, synchronous=FULL), ${EVENTS.toLocaleString('en')} events, ${CONCURRENCY} concurrent writers (${MODE})`,
  );
  row(
    'durable audit append (group commit)',
    `${Math.round(r.appendRate).toLocaleString('en')} events/s`,
    '≥ 50,000/s',
    r.appendRate >= 50_000,
  );
  note('CPU time per appended event (all threads)', `${r.appendCpuUs.toFixed(1)} µs`);
  row(
    'audit chain verification',
    `${Math.round(r.verifyRate).toLocaleString('en')} events/s`,
    '≥ 200,000/s',
    r.verifyRate >= 200_000,
  );
  note('CPU time per verified event (all threads)', `${r.verifyCpuUs.toFixed(2)} µs`);
  note(
    `event loop delay meanwhile, ${SERVE} writers serving`,
    `p99 ${r.loopDelayP99Ms.toFixed(1)} ms, max ${r.loopDelayMaxMs.toFixed(1)} ms; ${r.servedDuringVerify.toLocaleString('en')} appends served`,
  );
  row(
    'audit chain verification, offline (--data-dir)',
    `${Math.round(r.offlineRate).toLocaleString('en')} events/s`,
    '≥ 200,000/s',
    r.offlineRate >= 200_000,
  );
  note('CPU time per verified event (all threads)', `${r.offlineCpuUs.toFixed(2)} µs`);
  if (!r.ok) console.log('verification FAILED:', r.problem);
}

/** Alternating child runs of the base build and this one; medians side by side. */
function compare(baseDist, rounds) {
  const script = fileURLToPath(import.meta.url);
  const pass = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i].replace(/=.*/, '');
    if (flag === '--base-dist' || flag === '--rounds') {
      if (!argv[i].includes('=') && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) i++;
      continue;
    }
    pass.push(argv[i]);
  }
  const builds = { base: baseDist, this: serverDist };
  const results = { base: [], this: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const [name, dist] of Object.entries(builds)) {
      const out = execFileSync(process.execPath, [script, ...pass, '--json'], {
        env: { ...process.env, TESSERA_BENCH_SERVER_DIST: dist },
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 20,
      })
        .toString()
        .trim()
        .split('\n')
        .at(-1);
      const r = JSON.parse(out);
      if (!r.ok) throw new Error(`${name}: verification failed: ${JSON.stringify(r.problem)}`);
      results[name].push(r);
      console.error(
        `round ${round} ${name.padEnd(4)}: append ${Math.round(r.appendRate)}/s, verify ${Math.round(r.verifyRate)}/s in the server, ${Math.round(r.offlineRate)}/s offline`,
      );
    }
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const metrics = [
    ['durable append, events/s', 'appendRate', 0],
    ['  CPU µs per appended event', 'appendCpuUs', 1],
    ['verification in the server, events/s', 'verifyRate', 0],
    ['  CPU µs per verified event', 'verifyCpuUs', 2],
    ['  event loop delay p99 while verifying, ms', 'loopDelayP99Ms', 1],
    ['  appends served while verifying', 'servedDuringVerify', 0],
    ['verification offline, events/s', 'offlineRate', 0],
    ['  CPU µs per verified event', 'offlineCpuUs', 2],
  ];
  console.log(
    `\nnode ${process.version}, ${EVENTS.toLocaleString('en')} events, ${CONCURRENCY} writers (${MODE}), ${SERVE} serving during verification; median of ${rounds} alternating runs each`,
  );
  console.log(`base: ${baseDist}\nthis: ${serverDist}\n`);
  console.log(`| | base | this | this / base | per round (base; this) |\n|---|---:|---:|---:|---|`);
  for (const [label, key, digits] of metrics) {
    const b = median(results.base.map((r) => r[key]));
    const h = median(results.this.map((r) => r[key]));
    const fmt = (v) =>
      v.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
    console.log(
      `| ${label} | ${fmt(b)} | ${fmt(h)} | ${(h / b).toFixed(2)}× | ${results.base.map((r) => fmt(r[key])).join(', ')}; ${results.this.map((r) => fmt(r[key])).join(', ')} |`,
    );
  }
}
