// Identity as code (issue 17, ADR 0021): `plan` over 10,000 objects (budget: < 5 s).
//
// Starts Tessera in-process on SQLite (and PostgreSQL when reachable), generates one YAML file of
// N objects (by default 10,000: 5,000 identities, 3,000 UID auth methods, 2,000 roles with two
// rules and one association each; every tenth role includes the one before it), and times through
// the HTTP routes (app.inject):
//
//   plan (empty store)  — every object a creation
//   apply               — the whole file, one transaction
//   plan (no change)    — the CI drift check: parse, validate, read every live object, compare
//   plan (one drift)    — the same after one out-of-band change
//   export              — the live configuration as a document
//
// Side by side, in the same run: the floor of a plan — `yaml.parse` of the same text alone — and
// reading the same live objects the way a client-side tool would, through the paged list API
// (GET /v1/identities, /v1/auth-methods, /v1/roles, 100 a page, then one GET per role for its rules).
//
// Usage: node bench/config-plan.mjs [--objects 10000] [--reps 3] [--stores sqlite,postgres]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './lib/args.mjs';
import { pgDatabase, pgReachable } from './lib/pg-database.mjs';
import { assertBuilt, importServer, serverDist } from './lib/server-dist.mjs';
import { median } from './lib/stats.mjs';

const args = parseArgs();
const OBJECTS = Number(args.objects ?? 10_000);
const REPS = Number(args.reps ?? 3);
const stores = String(args.stores ?? 'sqlite,postgres').split(',');
const PG_ADMIN_URL =
  args.pg ?? process.env.TESSERA_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BUDGET_MS = 5000;

assertBuilt();
const { loadConfig, createTessera } = await importServer();
const require = createRequire(join(serverDist, 'index.js'));
const yaml = require('yaml');

function generate(n) {
  const identities = Math.round(n * 0.5);
  const methods = Math.round(n * 0.3);
  const roles = n - identities - methods;
  const lines = ['version: 1', 'identities:'];
  for (let i = 0; i < identities; i++)
    lines.push(
      `  - name: svc-${i}`,
      `    kind: ${i % 2 ? 'service' : 'workload'}`,
      `    owner: team-${i % 50}@example.com`,
      `    environment: ${i % 3 ? 'prod' : 'staging'}`,
      `    tags: [team-${i % 50}, tier-${i % 3}]`,
    );
  lines.push('authMethods:');
  for (let i = 0; i < methods; i++)
    lines.push(
      `  - name: svc-${i}-uid`,
      '    type: universal_identity',
      `    identity: svc-${i}`,
      `    settings: { ttlSeconds: ${3600 + (i % 10) * 60} }`,
    );
  lines.push('roles:');
  for (let i = 0; i < roles; i++) {
    lines.push(
      `  - name: role-${i}`,
      '    rules:',
      `      - { type: item, path: /prod/team-${i}/*, capabilities: [read, list] }`,
      `      - { type: item, path: /prod/team-${i}/admin/*, capabilities: [deny] }`,
      '    associations:',
      `      - authMethod: svc-${i % methods}-uid`,
    );
    if (i % 10 === 9) lines.push(`    includes: [role-${i - 1}]`);
  }
  return `${lines.join('\n')}\n`;
}

async function timed(fn) {
  const t0 = performance.now();
  const result = await fn();
  return { ms: performance.now() - t0, result };
}

async function runStore(store, text) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-bench-config-'));
  const db = store === 'postgres' ? await pgDatabase(PG_ADMIN_URL) : null;
  const config = loadConfig(
    { dataDir, port: 0, logLevel: 'silent', ...(db ? { storeUrl: db.url } : {}) },
    { TESSERA_ISSUER: 'http://tessera.bench' },
  );
  const tessera = await createTessera(config, { logger: false });
  try {
    const admin = await tessera.ensureAdmin();
    const call = async (method, url, body, token) => {
      const res = await tessera.app.inject({
        method,
        url,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          'content-type': 'application/json',
        },
        ...(body ? { payload: JSON.stringify(body) } : {}),
      });
      if (res.statusCode >= 300)
        throw new Error(`${method} ${url}: ${res.statusCode} ${res.body.slice(0, 500)}`);
      return JSON.parse(res.body);
    };
    const { token } = await call('POST', '/v1/auth', {
      accessType: 'access_key',
      accessId: admin.accessId,
      accessKey: admin.accessKey,
    });
    const files = [{ path: 'bench.yaml', text }];
    const plan = () => call('POST', '/v1/config/plan', { files }, token);

    const empty = await timed(plan);
    const applied = await timed(() => call('POST', '/v1/config/apply', { files }, token));
    const noChange = [];
    for (let i = 0; i < REPS; i++) noChange.push(await timed(plan));
    if (noChange[0].result.changes.length !== 0) throw new Error('plan after apply is not empty');
    const id = (await call('GET', '/v1/identities?limit=1', null, token)).items[0].id;
    await call('PATCH', `/v1/identities/${id}`, { owner: 'mallory@example.com' }, token);
    const drift = await timed(plan);
    if (drift.result.summary.update !== 1) throw new Error('drift not seen');
    const exported = await timed(() => call('GET', '/v1/config/export', null, token));

    const parse = [];
    for (let i = 0; i < REPS; i++) parse.push((await timed(async () => yaml.parse(text))).ms);
    const listing = await timed(async () => {
      let count = 0;
      for (const path of ['/v1/identities', '/v1/auth-methods', '/v1/roles']) {
        let cursor = null;
        do {
          const page = await call(
            'GET',
            `${path}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
            null,
            token,
          );
          count += page.items.length;
          if (path === '/v1/roles')
            for (const role of page.items)
              await call('GET', `/v1/roles/${encodeURIComponent(role.name)}`, null, token);
          cursor = page.nextCursor;
        } while (cursor);
      }
      return count;
    });
    const planMs = median(noChange.map((x) => x.ms));
    return {
      store,
      objects: OBJECTS,
      planEmptyMs: empty.ms,
      applyMs: applied.ms,
      planNoChangeMs: planMs,
      planDriftMs: drift.ms,
      exportMs: exported.ms,
      yamlParseMs: median(parse),
      apiListingMs: listing.ms,
      apiListingObjects: listing.result,
      withinBudget: planMs < BUDGET_MS,
    };
  } finally {
    await tessera.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const text = generate(OBJECTS);
console.log(`identity as code: ${OBJECTS} objects, ${(text.length / 1024 / 1024).toFixed(2)} MiB of YAML`);
const results = [];
for (const store of stores) {
  if (store === 'postgres') {
    if (!(await pgReachable(PG_ADMIN_URL))) {
      console.log('  postgres: not reachable, skipped');
      continue;
    }
  }
  const r = await runStore(store, text);
  results.push(r);
  const f = (x) => `${(x / 1000).toFixed(2)} s`;
  console.log(
    [
      `  ${store}:`,
      `    plan, empty store (all creations)   ${f(r.planEmptyMs)}`,
      `    apply (one transaction)             ${f(r.applyMs)}`,
      `    plan, no change (median of ${REPS})      ${f(r.planNoChangeMs)}   budget < 5 s: ${r.withinBudget ? 'met' : 'NOT met'}`,
      `    plan, one drifted field             ${f(r.planDriftMs)}`,
      `    export                              ${f(r.exportMs)}`,
      `    baseline: yaml.parse alone          ${f(r.yamlParseMs)}   plan = ${(r.planNoChangeMs / r.yamlParseMs).toFixed(1)}x`,
      `    baseline: paged list API (${r.apiListingObjects} obj) ${f(r.apiListingMs)}   plan = ${(r.planNoChangeMs / r.apiListingMs).toFixed(2)}x`,
    ].join('\n'),
  );
}
console.log(JSON.stringify(results));
