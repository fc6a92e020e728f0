// The machine's own reference points, next to the ones DESIGN §5 quotes for "this machine kind":
// Ed25519 sign/verify, HMAC-SHA256, SQLite WAL point read and durable single-row commit, and
// PostgreSQL single-row commit over loopback at pool 10 (when reachable). Pinned to one core.
// Usage: taskset -c 0 node bench/calibrate.mjs
import { createHmac, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverDist } from './lib/server-dist.mjs';

const require = createRequire(join(serverDist, 'index.js'));
const PG_URL = process.env.TESSERA_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function time(label, n, fn, reference) {
  for (let i = 0; i < Math.min(n, 1000); i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const us = Number(process.hrtime.bigint() - t0) / n / 1000;
  console.log(`  ${label.padEnd(44)} ${us.toFixed(1).padStart(8)} µs   (DESIGN §5 reference: ${reference})`);
  return us;
}

const out = {};
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const data = Buffer.from('x'.repeat(300));
const sig = sign(null, data, privateKey);
console.log('machine reference points');
out.ed25519SignUs = time(
  'Ed25519 sign (300-byte input)',
  20_000,
  () => sign(null, data, privateKey),
  '≈ 39 µs',
);
out.ed25519VerifyUs = time('Ed25519 verify', 10_000, () => verify(null, data, publicKey, sig), '≈ 118 µs');
out.hmacUs = time('HMAC-SHA256', 100_000, () => createHmac('sha256', 'key').update(data).digest(), '≈ 3 µs');

const SQLite = require('better-sqlite3');
const dir = mkdtempSync(join(tmpdir(), 'tessera-cal-'));
const db = new SQLite(join(dir, 'cal.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('create table t (id integer primary key, v text)');
const ins = db.prepare('insert into t (v) values (?)');
db.transaction(() => {
  for (let i = 0; i < 10_000; i++) ins.run(`row-${i}`);
})();
const get = db.prepare('select * from t where id = ?');
out.sqlitePointReadUs = time(
  'SQLite WAL point read (prepared)',
  100_000,
  (i) => get.get((i % 10_000) + 1),
  '≈ 6 µs',
);
out.sqliteCommitUs = time(
  'SQLite durable single-row commit (FULL)',
  300,
  (i) => ins.run(`x-${i}`),
  '≈ 190 µs',
);
db.close();
rmSync(dir, { recursive: true, force: true });

try {
  const pg = require('pg');
  const pool = new pg.Pool({ connectionString: PG_URL, max: 10 });
  await pool.query('create table if not exists tessera_bench_calibrate (id serial primary key, v text)');
  const n = 3000;
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < n) {
        next++;
        await pool.query('insert into tessera_bench_calibrate (v) values ($1)', ['x']);
      }
    }),
  );
  const us = Number(process.hrtime.bigint() - t0) / n / 1000;
  await pool.query('drop table tessera_bench_calibrate');
  await pool.end();
  out.pgCommitUs = us;
  console.log(
    `  ${'PostgreSQL single-row commit, pool 10'.padEnd(44)} ${us.toFixed(1).padStart(8)} µs   (DESIGN §5 reference: ≈ 62 µs; per commit, 10 in flight)`,
  );
} catch (error) {
  console.log(`  PostgreSQL not measured: ${error.message}`);
}
console.log(JSON.stringify(out));
