// DESIGN §5: durable audit append (group commit) ≥ 50,000 events/s; chain verification ≥ 200,000 events/s.
// Appends --events audit events through the server's own unit of work (every write durable, grouped
// the way concurrent requests are), then verifies the whole ledger, on SQLite.
// `--mode waves` (default): waves of --concurrency writes, each wave awaited (one commit per wave);
// `--mode steady`: --concurrency writers, each issuing its next write when the last one settled, as
// requests keep arriving at a server (commits overlap with the next batch's work).
// Also prints the process's CPU time per appended event (all threads), less sensitive to a loaded
// machine than the rate.
// Usage: node bench/audit-ledger.mjs [--events 200000] [--concurrency 512] [--mode waves|steady]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './lib/args.mjs';
import { importServer } from './lib/server-dist.mjs';

const args = parseArgs();
const EVENTS = Number(args.events ?? 200_000);
const CONCURRENCY = Number(args.concurrency ?? 512);
const MODE = args.mode ?? 'waves';
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
const cpu0 = process.cpuUsage();
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
const appendSec = (performance.now() - t0) / 1000;
const appendRate = EVENTS / appendSec;

t0 = performance.now();
let last = 0;
const report = await t.ledger.verify((checked) => {
  if (checked - last >= 50_000) {
    process.stderr.write(`  verified ${checked.toLocaleString('en')} events\r`);
    last = checked;
  }
});
const verifySec = (performance.now() - t0) / 1000;
const verifyRate = report.checkedEvents / verifySec;
await t.close();

// The same verification offline (`tessera audit verify --data-dir`), with no server running: no
// audit sink is catching up on the appended events at the same time.
t0 = performance.now();
const offline = await verifyAuditLedgerOffline(loadConfig({ dataDir: dir, logLevel: 'silent' }, {}));
const offlineRate = offline.checkedEvents / ((performance.now() - t0) / 1000);
rmSync(dir, { recursive: true, force: true });

const row = (what, value, budget, met) =>
  console.log(`${what.padEnd(48)} ${value.padEnd(22)} ${budget.padEnd(16)} ${met ? 'MET' : 'MISSED'}`);
console.log(
  `\nnode ${process.version}, SQLite (WAL, synchronous=FULL), ${EVENTS.toLocaleString('en')} events, ${CONCURRENCY} concurrent writers (${MODE})`,
);
row(
  'durable audit append (group commit)',
  `${Math.round(appendRate).toLocaleString('en')} events/s`,
  '≥ 50,000/s',
  appendRate >= 50_000,
);
console.log(`${'  CPU time per appended event (all threads)'.padEnd(48)} ${appendCpuUs.toFixed(1)} µs`);
row(
  'audit chain verification',
  `${Math.round(verifyRate).toLocaleString('en')} events/s`,
  '≥ 200,000/s',
  verifyRate >= 200_000,
);
row(
  'audit chain verification, offline (--data-dir)',
  `${Math.round(offlineRate).toLocaleString('en')} events/s`,
  '≥ 200,000/s',
  offlineRate >= 200_000,
);
if (!report.ok) console.log('verification FAILED:', report.problem);
if (!offline.ok) console.log('offline verification FAILED:', offline.problem);
