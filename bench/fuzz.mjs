// DESIGN §5 / issue 19: 100,000 hostile requests across every surface: 0 5xx, 0 hangs, 0 leaked
// secrets, on SQLite and on PostgreSQL. Requests come from the property-based generator shared with
// packages/server/test/api-fuzz.test.ts (driven by /openapi.json and the OAuth door), sent through
// the server's own HTTP stack (app.inject: routing, parsers, validation, auth, handlers, errors).
// Usage: node bench/fuzz.mjs [--requests 100000] [--stores sqlite,postgres] [--seed 19] [--concurrency 16]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { fuzz, injectSender, plantSecrets } from '../packages/server/test/api-fuzz.mjs';
import { parseArgs } from './lib/args.mjs';
import { importServer } from './lib/server-dist.mjs';

const args = parseArgs();
const REQUESTS = Number(args.requests ?? 100_000);
const STORES = String(args.stores ?? 'sqlite,postgres').split(',');
const SEED = Number(args.seed ?? 19);
const CONCURRENCY = Number(args.concurrency ?? 16);
const PG_ADMIN = process.env.TESSERA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const { createTessera, loadConfig } = await importServer();

async function run(store) {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-fuzz-'));
  let dbName = null;
  let storeUrl;
  if (store === 'postgres') {
    dbName = `tessera_fuzz_${randomBytes(4).toString('hex')}`;
    const c = new pg.Client({ connectionString: PG_ADMIN });
    await c.connect();
    await c.query(`create database ${dbName}`);
    await c.end();
    const url = new URL(PG_ADMIN);
    url.pathname = `/${dbName}`;
    storeUrl = url.toString();
  }
  const config = loadConfig(
    { dataDir: dir, port: 0, logLevel: 'silent', ...(storeUrl ? { storeUrl } : {}) },
    { TESSERA_ISSUER: 'http://tessera.fuzz', TESSERA_AUTH_FAILURE_LIMIT: '1000000' },
  );
  const t = await createTessera(config, { logger: false });
  try {
    const admin = await t.ensureAdmin();
    const auth = await t.app.inject({
      method: 'POST',
      url: '/v1/auth',
      payload: { accessType: 'access_key', accessId: admin.accessId, accessKey: admin.accessKey },
    });
    const adminToken = auth.json().token;
    const spec = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const secrets = await plantSecrets(t.app, adminToken, admin.accessKey);
    // In chunks of 10,000 (seeds SEED, SEED+1, …), with a running total after each.
    const total = {
      requests: 0,
      seconds: 0,
      statuses: {},
      fiveHundreds: 0,
      hangs: 0,
      leaks: 0,
      failures: [],
    };
    for (let chunk = 0; total.requests < REQUESTS; chunk++) {
      const r = await fuzz({
        spec,
        tokens: { admin: adminToken },
        send: injectSender(t.app),
        count: Math.min(10_000, REQUESTS - total.requests),
        seed: SEED + chunk,
        secrets,
        concurrency: CONCURRENCY,
      });
      for (const k of ['requests', 'seconds', 'fiveHundreds', 'hangs', 'leaks']) total[k] += r[k];
      for (const [status, n] of Object.entries(r.statuses))
        total.statuses[status] = (total.statuses[status] ?? 0) + n;
      total.failures.push(...r.failures);
      for (const f of r.failures)
        console.error(`  FAILURE ${f.problem}: ${f.request.method} ${f.request.url.slice(0, 200)}`);
      console.error(
        `${store}: ${total.requests} requests, ${total.fiveHundreds} 5xx, ${total.hangs} hangs, ${total.leaks} leaks`,
      );
    }
    return { store, routes: Object.keys(spec.paths).length, ...total };
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
    if (dbName) {
      const c = new pg.Client({ connectionString: PG_ADMIN });
      await c.connect();
      await c.query(`drop database if exists ${dbName} with (force)`);
      await c.end();
    }
  }
}

let failed = false;
for (const store of STORES) {
  const r = await run(store);
  const { failures, ...figures } = r;
  console.log(
    JSON.stringify({
      ...figures,
      seconds: Number(r.seconds.toFixed(1)),
      requestsPerSecond: Math.round(r.requests / r.seconds),
    }),
  );
  for (const f of failures)
    console.log(`  FAILURE ${f.problem}: ${f.request.method} ${f.request.url.slice(0, 200)}`);
  if (r.fiveHundreds || r.hangs || r.leaks) failed = true;
}
process.exit(failed ? 1 : 0);
