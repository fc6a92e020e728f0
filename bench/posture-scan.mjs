// Governance posture scan and inventory pages (DESIGN §5: 100,000 identities and 1,000,000 audit
// events scanned in < 60 s on SQLite, then incrementally; inventory pages < 50 ms at that size).
//
// Starts Tessera on SQLite once (migrations, administrator), stops it, and seeds the store straight
// through better-sqlite3: N identities (kinds, owners, environments round-robin), one access-key
// method each, 20 roles of 3 rules associated round-robin, and E audit events (access.granted reads
// and auth.succeeded from a few addresses, spread over 60 days; the audit head moved past them).
// Then restarts it and times, over real HTTP:
//   - the first full scan (folds every event, evaluates every identity, stores the findings);
//   - a rescan with 10,000 new events (incremental: only the new events are folded);
//   - inventory pages (`GET /v1/inventory?limit=50`) at 20 cursors across the table, beside the core
//     listing of the same page (`GET /v1/identities?limit=50`) as the baseline;
//   - the page filtered by finding (`finding=NHI1`): the first request, then warm at the same cursors;
//   - the baseline of the scan: reading the same identities and events once (SELECT + JSON.parse).
//
// Usage: node bench/posture-scan.mjs [--identities 100000] [--events 1000000] [--pages 20]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './lib/args.mjs';
import { assertBuilt, importServer, serverDist } from './lib/server-dist.mjs';
import { median } from './lib/stats.mjs';

const args = parseArgs();
const N = Number(args.identities ?? 100_000);
const E = Number(args.events ?? 1_000_000);
const PAGES = Number(args.pages ?? 20);
const SCAN_BUDGET_MS = 60_000;
const PAGE_BUDGET_MS = 50;
const DAY = 86_400_000;

assertBuilt();
const { loadConfig, startServer } = await importServer();
const SQLite = createRequire(join(serverDist, 'index.js'))('better-sqlite3');

async function http(base, method, path, { token, body } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

const dataDir = mkdtempSync(join(tmpdir(), 'tessera-posture-'));
const config = loadConfig(
  { port: 0, host: '127.0.0.1', dataDir, logLevel: 'warn' },
  { ...process.env, TESSERA_ISSUER: 'http://tessera.bench' },
);
const first = await startServer(config);
await first.close();
const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));

// ------------------------------------------------------------------ seed
const seedStart = performance.now();
const db = new SQLite(join(dataDir, 'tessera.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = OFF');
const now = Date.now();
const KINDS = ['service', 'workload', 'ci-pipeline', 'ai-agent', 'mcp-server', 'device'];
const ENVS = ['production', 'staging', 'dev', null];
const pad = (i) => String(i).padStart(8, '0');
const ident = db.prepare(
  'insert into identities (id, name, kind, owner, environment, description, state, created_at, updated_at, retired_at, last_used_at) values (?,?,?,?,?,?,?,?,?,?,?)',
);
const method = db.prepare(
  "insert into auth_methods (id, name, type, identity_id, settings, secret_hash, is_admin, bound_cidrs, expires_at, created_at, updated_at) values (?,?,'access_key',?,'{\"jwtTtlSeconds\":3600}',?,0,'[]',null,?,?)",
);
const role = db.prepare(
  'insert into roles (id, name, path, description, builtin, created_at, updated_at) values (?,?,?,null,0,?,?)',
);
const rule = db.prepare(
  "insert into role_rules (id, role_id, rule_type, path, capabilities, conditions, expires_at, created_at, updated_at) values (?,?,'item',?,?,null,null,?,?)",
);
const assoc = db.prepare(
  "insert into role_associations (id, role_id, auth_method_id, claims, created_at) values (?,?,?,'{}',?)",
);
db.transaction(() => {
  for (let r = 0; r < 20; r++) {
    role.run(`rl-b${r}`, `bench-${r}`, `/bench-${r}`, now, now);
    rule.run(`rr-b${r}a`, `rl-b${r}`, `/app${r}/prod/*`, '["read"]', now, now);
    rule.run(`rr-b${r}b`, `rl-b${r}`, `/app${r}/dev/*`, '["read"]', now, now);
    rule.run(`rr-b${r}c`, `rl-b${r}`, r % 4 === 0 ? '*' : `/app${r}/shared/*`, '["list"]', now, now);
  }
  for (let i = 0; i < N; i++) {
    const created = now - 120 * DAY;
    ident.run(
      `i-b${pad(i)}`,
      `bench/${KINDS[i % 6]}-${pad(i)}`,
      KINDS[i % 6],
      i % 50 === 0 ? 'unassigned' : `owner-${i % 500}`,
      ENVS[i % 4],
      null,
      'active',
      created,
      created,
      null,
      null,
    );
    method.run(`p-b${pad(i)}`, `/bench/key-${pad(i)}`, `i-b${pad(i)}`, `hash-${i}`, created, created);
    assoc.run(`ra-b${pad(i)}`, `rl-b${i % 20}`, `p-b${pad(i)}`, created);
  }
})();
let seq = Number(db.prepare('select max(seq) as m from audit_events').get().m ?? 0);
const audit = db.prepare(
  "insert into audit_events (seq, id, at, type, outcome, actor, resource, reason, request_id, source_ip, data, prev_hash, hash) values (?,?,?,?,'success',?,?,null,null,?,?,'x','x')",
);
function addEvents(count, sinceMs, target = db) {
  const insert = target === db ? audit : target.prepare(audit.source);
  seq = Number(target.prepare('select max(seq) as m from audit_events').get().m ?? 0);
  target.transaction(() => {
    for (let k = 0; k < count; k++) {
      seq++;
      const i = (k * 7919) % N;
      const at = sinceMs + Math.floor((k / count) * (now - sinceMs));
      const actor = `{"identityId":"i-b${pad(i)}","authMethodId":"p-b${pad(i)}","tokenId":"t${k}"}`;
      if (k % 5 === 0)
        insert.run(
          seq,
          `e-${seq}`,
          at,
          'auth.succeeded',
          actor,
          null,
          `10.0.${k % 7}.${i % 250}`,
          '{"accessType":"access_key"}',
        );
      else
        insert.run(
          seq,
          `e-${seq}`,
          at,
          'access.granted',
          actor,
          `/app${i % 20}/prod/db-${k % 3}`,
          '10.0.0.1',
          '{"action":"read","resourceType":"item","rule":null,"route":"/v1/secrets/value"}',
        );
    }
    target.prepare('update audit_head set seq = ?, hash = ?').run(seq, 'x');
  })();
}
addEvents(E, now - 60 * DAY);
db.close();
const seedMs = performance.now() - seedStart;

// ------------------------------------------------------------------ baseline: read everything once
const base = new SQLite(join(dataDir, 'tessera.db'), { readonly: true });
const b0 = performance.now();
const bc0 = process.cpuUsage();
let rows = 0;
for (const r of base.prepare('select id, name, kind, owner, environment, state from identities').iterate())
  rows += r ? 1 : 0;
for (const r of base.prepare('select actor, data from audit_events').iterate()) {
  JSON.parse(r.actor);
  JSON.parse(r.data);
  rows++;
}
const baselineMs = performance.now() - b0;
const baselineCpuMs = (({ user, system }) => (user + system) / 1000)(process.cpuUsage(bc0));
base.close();

// ------------------------------------------------------------------ measure
const server = await startServer(config);
const url = server.url;
const token = (await http(url, 'POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } })).token;

// CPU time of this process (the server runs in it) beside the wall time: on a loaded machine the
// wall time also counts waiting for a core; the CPU time much less so.
const cpuMs = (u) => (u.user + u.system) / 1000;
const s0 = performance.now();
let c0 = process.cpuUsage();
const scan = await http(url, 'POST', '/v1/governance/scan', { token, body: {} });
const scanMs = performance.now() - s0;
const scanCpuMs = cpuMs(process.cpuUsage(c0));

await server.close();
const more = new SQLite(join(dataDir, 'tessera.db'));
addEvents(10_000, now - DAY, more);
more.close();
const server2 = await startServer(config);
const token2 = (await http(server2.url, 'POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } }))
  .token;
const r0 = performance.now();
c0 = process.cpuUsage();
const rescan = await http(server2.url, 'POST', '/v1/governance/scan', { token: token2, body: {} });
const rescanMs = performance.now() - r0;
const rescanCpuMs = cpuMs(process.cpuUsage(c0));

// Inventory pages at cursors spread over the table, beside the core identity listing.
const cursors = [
  null,
  ...Array.from({ length: PAGES - 1 }, (_, p) => `i-b${pad(Math.floor(((p + 1) * N) / PAGES))}`),
];
const inv = [];
const core = [];
for (const c of cursors) {
  const q = `limit=50${c ? `&cursor=${c}` : ''}`;
  await http(server2.url, 'GET', `/v1/inventory?${q}`, { token: token2 });
  let t = performance.now();
  const page = await http(server2.url, 'GET', `/v1/inventory?${q}`, { token: token2 });
  inv.push(performance.now() - t);
  if (page.items.length !== 50) throw new Error(`inventory page of ${page.items.length}`);
  t = performance.now();
  await http(server2.url, 'GET', `/v1/identities?${q}`, { token: token2 });
  core.push(performance.now() - t);
}
const f0 = performance.now();
await http(server2.url, 'GET', `/v1/inventory?finding=NHI1&limit=50`, { token: token2 });
const filteredMs = performance.now() - f0;
// The filtered page again, warm, at the same cursors as the plain pages (the first one is cold).
const filtered = [];
for (const c of cursors) {
  const t = performance.now();
  await http(server2.url, 'GET', `/v1/inventory?finding=NHI1&limit=50${c ? `&cursor=${c}` : ''}`, {
    token: token2,
  });
  filtered.push(performance.now() - t);
}
await server2.close();
rmSync(dataDir, { recursive: true, force: true });

const fmt = (x) => `${x.toFixed(1)} ms`;
console.log(
  `posture scan, SQLite: ${N} identities, ${E} audit events (seeded in ${(seedMs / 1000).toFixed(1)} s)`,
);
console.log(
  `  full scan                 ${fmt(scanMs)}  (${scan.open} open findings, ${scan.auditEventsFolded} events folded)`,
);
console.log(`    vs budget 60 s          ${(scanMs / SCAN_BUDGET_MS).toFixed(3)} of the budget`);
console.log(
  `    CPU time                ${fmt(scanCpuMs)}  (bare read ${fmt(baselineCpuMs)} → ${(scanCpuMs / baselineCpuMs).toFixed(2)}×)`,
);
console.log(
  `    vs reading it all once  ${fmt(baselineMs)}  (${rows} rows) → scan = ${(scanMs / baselineMs).toFixed(2)}× a bare read of the same rows`,
);
console.log(
  `  rescan, 10,000 new events ${fmt(rescanMs)}  (${rescan.auditEventsFolded} folded; ${(rescanMs / scanMs).toFixed(2)}× the full scan)`,
);
console.log(`    CPU time                ${fmt(rescanCpuMs)}`);
console.log(
  `  inventory page (50)       median ${fmt(median(inv))}, max ${fmt(Math.max(...inv))}  (budget ${PAGE_BUDGET_MS} ms)`,
);
console.log(
  `    core identity page (50) median ${fmt(median(core))}  → inventory = ${(median(inv) / median(core)).toFixed(1)}× the core listing`,
);
console.log(
  `  filtered page (finding=NHI1) first ${fmt(filteredMs)}; then median ${fmt(median(filtered))}, max ${fmt(Math.max(...filtered))}`,
);
