// Counts the SQL statements one UID → session-token exchange costs on SQLite, by wrapping
// better-sqlite3's statement methods and prepare() in this process (bench-only instrumentation; the server is untouched).
// Runs --n exchanges (default 500) in waves of --concurrency (default 50) through app.inject, so
// group commit batches them as under load, and prints statements per exchange by SQL text.
// Usage: node bench/queries-per-auth.mjs [--n 500] [--concurrency 50]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './lib/args.mjs';
import { assertBuilt, importServer, serverDist } from './lib/server-dist.mjs';

const args = parseArgs();
const n = Number(args.n ?? 500);
const concurrency = Number(args.concurrency ?? 50);
assertBuilt();
const SQLite = createRequire(join(serverDist, 'index.js'))('better-sqlite3');
const counts = new Map();
let counting = false;
const times = new Map();
const maxes = new Map();
const count = (sql, ns = 0n) => {
  if (!counting) return;
  counts.set(sql, (counts.get(sql) ?? 0) + 1);
  times.set(sql, (times.get(sql) ?? 0n) + ns);
  if (ns > (maxes.get(sql) ?? 0n)) maxes.set(sql, ns);
};
// Count executions (statements may be prepared once and cached): wrap the Statement methods.
const probe = new SQLite(':memory:');
const Statement = Object.getPrototypeOf(probe.prepare('select 1'));
probe.close();
for (const method of ['run', 'get', 'all', 'iterate']) {
  const original = Statement[method];
  Statement[method] = function (...params) {
    const t0 = process.hrtime.bigint();
    try {
      return original.apply(this, params);
    } finally {
      count(this.source, process.hrtime.bigint() - t0);
    }
  };
}
const originalExec = SQLite.prototype.exec;
SQLite.prototype.exec = function exec(source, ...rest) {
  const t0 = process.hrtime.bigint();
  try {
    return originalExec.call(this, source, ...rest);
  } finally {
    count(`(exec) ${source}`, process.hrtime.bigint() - t0);
  }
};
let prepares = 0;
const originalPrepare = SQLite.prototype.prepare;
SQLite.prototype.prepare = function prepare(...a) {
  if (counting) prepares++;
  return originalPrepare.apply(this, a);
};

const { createTessera, loadConfig } = await importServer();
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-q-'));
const tessera = await createTessera(
  loadConfig({ dataDir, logLevel: 'silent', port: 0 }, { TESSERA_ISSUER: 'http://bench' }),
  { logger: false },
);
const call = async (url, body, token) => {
  const res = await tessera.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    payload: JSON.stringify(body),
  });
  return { status: res.statusCode, body: JSON.parse(res.body) };
};
try {
  const admin = await tessera.ensureAdmin();
  const adminToken = (
    await call('/v1/auth', { accessType: 'access_key', accessId: admin.accessId, accessKey: admin.accessKey })
  ).body.token;
  await call(
    '/v1/auth-methods',
    { type: 'universal_identity', name: '/bench/q', ttlSeconds: 86_400, jwtTtlSeconds: 86_400 },
    adminToken,
  );
  const tokens = [];
  for (let i = 0; i < Math.min(n, 200); i++)
    tokens.push((await call('/v1/uid/tokens', { authMethodName: '/bench/q' }, adminToken)).body.token);
  // Warm up once (statement shapes, JIT), then count.
  await Promise.all(
    tokens
      .slice(0, concurrency)
      .map((uidToken) => call('/v1/auth', { accessType: 'universal_identity', uidToken })),
  );
  counting = true;
  let ok = 0;
  for (let i = 0; i < n; i += concurrency) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(concurrency, n - i) }, (_, j) =>
        call('/v1/auth', { accessType: 'universal_identity', uidToken: tokens[(i + j) % tokens.length] }),
      ),
    );
    ok += wave.filter((r) => r.status === 200).length;
  }
  counting = false;
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  console.log(`server build: ${serverDist}`);
  console.log(`${ok}/${n} exchanges answered 200, in waves of ${concurrency}`);
  console.log(
    `${total} SQL statements executed = ${(total / n).toFixed(2)} per exchange; prepare() called ${(prepares / n).toFixed(2)} times per exchange\n`,
  );
  const totalNs = [...times.values()].reduce((a, b) => a + b, 0n);
  console.log(
    `time inside SQLite (statement execution, incl. commit fsync): ${(Number(totalNs) / 1000 / n).toFixed(1)} µs per exchange\n`,
  );
  console.log('  per exchange   µs/exch   µs/exec   max µs  statement');
  for (const [sql, c] of [...counts.entries()].sort((a, b) => Number(times.get(b[0]) - times.get(a[0])))) {
    const ns = Number(times.get(sql));
    console.log(
      `${(c / n).toFixed(2).padStart(14)}  ${(ns / 1000 / n).toFixed(1).padStart(8)}  ${(ns / 1000 / c).toFixed(1).padStart(8)}  ${(Number(maxes.get(sql)) / 1000).toFixed(0).padStart(7)}  ${sql.replace(/\s+/g, ' ').trim().slice(0, 110)}`,
    );
  }
} finally {
  await tessera.close();
  rmSync(dataDir, { recursive: true, force: true });
}
