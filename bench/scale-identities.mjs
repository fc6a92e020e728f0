// Issue 19 "Scale": identity list and inventory pages at 1,000,000 identities, against the same pages
// at 1,000 identities in the same run (DESIGN §5: inventory pages < 50 ms).
//
// Starts Tessera once (migrations, administrator) and stops it, then seeds the store directly (as
// bench/lib/uid-tree.mjs does for UID nodes): 1,000 identities with realistic names (`team/kind-word-n`),
// owners (500 teams, 1 in 50 `unassigned`), kinds and environments round-robin, 1 in 1,000 retired,
// 1 in 10 tagged `pci`, one access-key method each. Restarts the server and times, over real HTTP,
// each page `--reps` times after one warm-up (median / p99 / max, ms):
//   - `GET /v1/identities?limit=50`: the first page, a deep cursor page (at 90% of the id order), and
//     filtered pages (owner, kind at the deep cursor, tag, state=retired);
//   - `GET /v1/inventory?limit=50` (the governance inventory, as bench/posture-scan.mjs times it): the
//     first page, the deep cursor page, and filtered pages (owner, environment at the deep cursor).
// Then stops the server, adds identities up to `--identities` (progress on stderr), restarts it and
// times the same pages again. The server runs in this process; `uptime` is printed with each set.
//
// Usage: node bench/scale-identities.mjs [--identities 1000000] [--reps 30] [--trace]
//   --trace: after timing each page at the large size, one more request with the server's SQL
//            statements timed (bench/lib/sql-trace.mjs); the 3 slowest are printed under the page.
//   --keep-data: leave the data dir (SQLite file, root key) in place for EXPLAIN QUERY PLAN.
//        [--store sqlite | --store postgres://user@host:port/fresh_database]
// With a PostgreSQL URL the database must exist and be empty (e.g. `createdb -h 127.0.0.1 -U postgres
// tessera_scale_$$`); the caller drops it afterwards. Seeding on PostgreSQL is multi-row
// `insert … select * from unnest($1::text[], …)`, 10,000 rows a statement.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './lib/args.mjs';
import { assertBuilt, importServer, serverDist } from './lib/server-dist.mjs';
import { installSqlTrace } from './lib/sql-trace.mjs';

const args = parseArgs();
const N = Number(args.identities ?? 1_000_000);
const SMALL = 1000;
const REPS = Number(args.reps ?? 30);
const STORE = String(args.store ?? 'sqlite');
const PG = STORE.startsWith('postgres');
const BATCH = 10_000;
const TRACE = Boolean(args.trace);

assertBuilt();
const { loadConfig, startServer } = await importServer();
const req = createRequire(join(serverDist, 'index.js'));
const trace = TRACE ? installSqlTrace(serverDist) : null;

async function http(base, path, token) {
  const res = await fetch(`${base}${path}`, {
    method: path === '/v1/auth' ? 'POST' : 'GET',
    headers:
      path === '/v1/auth' ? { 'content-type': 'application/json' } : { authorization: `Bearer ${token}` },
    ...(path === '/v1/auth' ? { body: JSON.stringify(token) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}
const uptime = () =>
  execFileSync('uptime')
    .toString()
    .trim()
    .replace(/^.*load/, 'load');

// ------------------------------------------------------------------ rows
const KINDS = ['service', 'workload', 'ci-pipeline', 'ai-agent', 'mcp-server', 'device'];
const ENVS = ['production', 'staging', 'dev', null];
const WORDS = ['billing', 'search', 'ingest', 'ledger', 'reports', 'payments', 'catalog', 'notify'];
const now = Date.now();
/** Ids spread over the key space like random ids (a bijective scramble of i), unique by the suffix. */
const idOf = (i) => `i-${((i * 2654435761) % 4294967296).toString(16).padStart(8, '0')}${i.toString(36)}`;
function identityRow(i) {
  const team = `team-${i % 500}`;
  const created = now - ((i * 7919) % 365) * 86_400_000;
  const retired = i % 1000 === 999;
  return [
    idOf(i),
    `${team}/${KINDS[i % 6]}-${WORDS[i % 8]}-${i}`,
    KINDS[i % 6],
    i % 50 === 0 ? 'unassigned' : team,
    ENVS[i % 4],
    null,
    retired ? 'retired' : 'active',
    created,
    created,
    retired ? created + 86_400_000 : null,
    i % 3 === 0 ? now - (i % 30) * 86_400_000 : null,
  ];
}
const methodRow = (i) => {
  const created = now - ((i * 7919) % 365) * 86_400_000;
  return [
    `p-${idOf(i).slice(2)}`,
    `/keys/${idOf(i)}`,
    'access_key',
    idOf(i),
    '{"jwtTtlSeconds":3600}',
    `hash-${i}`,
    0,
    '[]',
    null,
    created,
    created,
  ];
};
const IDENT_COLS =
  'id, name, kind, owner, environment, description, state, created_at, updated_at, retired_at, last_used_at';
const IDENT_TYPES = [
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'bigint',
  'bigint',
  'bigint',
  'bigint',
];
const METHOD_COLS =
  'id, name, type, identity_id, settings, secret_hash, is_admin, bound_cidrs, expires_at, created_at, updated_at';
const METHOD_TYPES = [
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'integer',
  'text',
  'bigint',
  'bigint',
  'bigint',
];

/** Seeds identities [from, to) with their methods and tags, a transaction per BATCH rows. */
async function seed(from, to) {
  const t0 = performance.now();
  const progress = (done) => {
    const rate = Math.round((done - from) / ((performance.now() - t0) / 1000));
    process.stderr.write(`  ${done.toLocaleString('en')} identities (${rate.toLocaleString('en')}/s)\n`);
  };
  if (!PG) {
    const SQLite = req('better-sqlite3');
    const db = new SQLite(join(dataDir, 'tessera.db'));
    db.pragma('busy_timeout = 30000');
    const ident = db.prepare(`insert into identities (${IDENT_COLS}) values (${IDENT_TYPES.map(() => '?')})`);
    const method = db.prepare(
      `insert into auth_methods (${METHOD_COLS}) values (${METHOD_TYPES.map(() => '?')})`,
    );
    const tag = db.prepare("insert into identity_tags (identity_id, tag) values (?, 'pci')");
    const chunk = db.transaction((a, b) => {
      for (let i = a; i < b; i++) {
        ident.run(identityRow(i));
        method.run(methodRow(i));
        if (i % 10 === 0) tag.run(idOf(i));
      }
    });
    for (let a = from; a < to; a += BATCH) {
      const b = Math.min(to, a + BATCH);
      chunk(a, b);
      if (Math.floor(b / 100_000) > Math.floor(a / 100_000) || b >= to) progress(b);
    }
    db.close();
  } else {
    const pg = req('pg');
    const client = new pg.Client({ connectionString: STORE });
    await client.connect();
    const unnest = (table, cols, types, rows) => {
      const columns = types.map((_, c) => rows.map((r) => r[c]));
      return client.query(
        `insert into ${table} (${cols}) select * from unnest(${types.map((t, c) => `$${c + 1}::${t}[]`)})`,
        columns,
      );
    };
    for (let a = from; a < to; a += BATCH) {
      const b = Math.min(to, a + BATCH);
      const ids = Array.from({ length: b - a }, (_, k) => a + k);
      await client.query('begin');
      await unnest('identities', IDENT_COLS, IDENT_TYPES, ids.map(identityRow));
      await unnest('auth_methods', METHOD_COLS, METHOD_TYPES, ids.map(methodRow));
      const tagged = ids.filter((i) => i % 10 === 0).map((i) => [idOf(i), 'pci']);
      await unnest('identity_tags', 'identity_id, tag', ['text', 'text'], tagged);
      await client.query('commit');
      if (Math.floor(b / 100_000) > Math.floor(a / 100_000) || b >= to) progress(b);
    }
    await client.query('analyze identities; analyze auth_methods; analyze identity_tags');
    await client.end();
  }
  return (performance.now() - t0) / 1000;
}

/** The id at `fraction` of the id order among the seeded identities (the deep cursor). */
const deepCursor = (count, fraction) =>
  Array.from({ length: count }, (_, i) => idOf(i)).sort()[Math.floor(count * fraction)];

// ------------------------------------------------------------------ measure
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
async function measurePages(count) {
  const server = await startServer(config);
  try {
    const token = (await http(server.url, '/v1/auth', { accessType: 'access_key', ...admin })).token;
    const deep = deepCursor(count, 0.9);
    const pages = {
      'identities first': '/v1/identities?limit=50',
      'identities deep cursor': `/v1/identities?limit=50&cursor=${deep}`,
      'identities owner=team-17': '/v1/identities?limit=50&owner=team-17',
      'identities kind=ai-agent deep': `/v1/identities?limit=50&kind=ai-agent&cursor=${deep}`,
      'identities tag=pci deep': `/v1/identities?limit=50&tag=pci&cursor=${deep}`,
      'identities state=retired': '/v1/identities?limit=50&state=retired',
      'inventory first': '/v1/inventory?limit=50',
      'inventory deep cursor': `/v1/inventory?limit=50&cursor=${deep}`,
      'inventory owner=team-17': '/v1/inventory?limit=50&owner=team-17',
      'inventory environment=dev deep': `/v1/inventory?limit=50&environment=dev&cursor=${deep}`,
    };
    const out = {};
    for (const [name, path] of Object.entries(pages)) {
      const first = await http(server.url, path, token);
      if (first.items.length === 0) throw new Error(`${name}: an empty page`);
      const times = [];
      for (let r = 0; r < REPS; r++) {
        const t = performance.now();
        await http(server.url, path, token);
        times.push(performance.now() - t);
      }
      let slowest;
      if (trace) {
        trace.start();
        await http(server.url, path, token);
        slowest = trace
          .stop()
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 3)
          .map((e) => `${e.ms.toFixed(1)} ms ${e.sql.slice(0, 200)}`);
      }
      out[name] = {
        slowest,
        items: first.items.length,
        median: quantile(times, 0.5),
        p99: quantile(times, 0.99),
        max: Math.max(...times),
      };
    }
    return out;
  } finally {
    await server.close();
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'tessera-scale-ids-'));
const config = loadConfig(
  { port: 0, host: '127.0.0.1', dataDir, logLevel: 'warn', ...(PG ? { storeUrl: STORE } : {}) },
  { ...process.env, TESSERA_ISSUER: 'http://tessera.bench' },
);
let admin;
try {
  await (await startServer(config)).close();
  admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
  await seed(0, SMALL);
  const load1 = uptime();
  const small = await measurePages(SMALL);
  const seedSeconds = await seed(SMALL, N);
  const load2 = uptime();
  const large = await measurePages(N);
  const f = (x) => x.toFixed(1).padStart(6);
  console.log(
    `identity pages, ${PG ? 'PostgreSQL' : 'SQLite'}: ${SMALL.toLocaleString('en')} vs ${N.toLocaleString('en')} identities (seeded ${(N - SMALL).toLocaleString('en')} in ${seedSeconds.toFixed(1)} s), ${REPS} reps a page, ms`,
  );
  console.log(`  at ${SMALL}: ${load1}\n  at ${N}: ${load2}`);
  console.log(`  ${'page'.padEnd(32)} ${'1k median / p99 / max'.padEnd(24)} ${N / 1000}k median / p99 / max`);
  for (const name of Object.keys(small)) {
    const a = small[name];
    const b = large[name];
    console.log(
      `  ${name.padEnd(32)} ${f(a.median)} ${f(a.p99)} ${f(a.max)}    ${f(b.median)} ${f(b.p99)} ${f(b.max)}${b.median > 50 ? '  SLOW' : ''}`,
    );
    for (const line of b.slowest ?? []) console.log(`      ${line}`);
  }
} finally {
  if (args['keep-data']) console.log(`  data dir kept: ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}
