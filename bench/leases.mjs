// Issue 6: dynamic-secret leases issued and revoked per second, per producer type (--type; the
// PostgreSQL producer now, MariaDB/MySQL and Redis to come). Runs the server's own services (no HTTP):
// issue = lease row + account on the target + activation, all durable; revoke = one at a time
// (`leases.revoke`, concurrent callers) and in bulk (every lease due at once, then the reaper).
// Usage: node bench/leases.mjs [--type postgresql] [--leases 2000] [--concurrency 16] [--store sqlite|postgres]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseArgs } from './lib/args.mjs';
import { importServer } from './lib/server-dist.mjs';

const args = parseArgs();
const TYPE = String(args.type ?? 'postgresql');
const LEASES = Number(args.leases ?? 2000);
const CONCURRENCY = Number(args.concurrency ?? 16);
const STORE = String(args.store ?? 'sqlite');
const PG_URL = process.env.TESSERA_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Per type: a target to mint accounts on (created for the run) and the item's settings. */
const TARGETS = {
  postgresql: {
    async setUp(tag) {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`create database bench_target_${tag}`);
      if (STORE === 'postgres') await c.query(`create database bench_store_${tag}`);
      await c.end();
      const u = new URL(PG_URL);
      return {
        settings: {
          host: u.hostname,
          port: Number(u.port || 5432),
          database: `bench_target_${tag}`,
          adminUsername: u.username || 'postgres',
          adminPassword: decodeURIComponent(u.password),
          usernamePrefix: `tsrb_${tag}_`,
        },
        storeUrl:
          STORE === 'postgres'
            ? Object.assign(new URL(PG_URL), { pathname: `/bench_store_${tag}` }).toString()
            : undefined,
      };
    },
    async tearDown(tag) {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      const left = await c.query('select rolname from pg_roles where rolname like $1', [`tsrb_${tag}_%`]);
      for (const r of left.rows) await c.query(`drop role if exists "${r.rolname}"`);
      await c.query(`drop database if exists bench_target_${tag} with (force)`);
      await c.query(`drop database if exists bench_store_${tag} with (force)`);
      await c.end();
      return left.rowCount;
    },
  },
};

const target = TARGETS[TYPE];
if (!target) throw new Error(`--type ${TYPE}: no bench target (have ${Object.keys(TARGETS).join(', ')})`);
const tag = `${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const { settings, storeUrl } = await target.setUp(tag);
const { createTessera, loadConfig } = await importServer();
const dir = mkdtempSync(join(tmpdir(), 'tessera-leases-bench-'));
const t = await createTessera(
  loadConfig({ dataDir: dir, logLevel: 'silent', ...(storeUrl ? { storeUrl } : {}) }, {}),
  { logger: false },
);
const ctx = {
  requestId: 'req-bench',
  sourceIp: '127.0.0.1',
  userAgent: 'bench',
  actor: { identityId: 'i-bench' },
};
const { dynamicSecrets, leases } = t.services;
await dynamicSecrets.create(
  { name: '/bench/db', type: TYPE, settings, leaseQuota: 1_000_000, defaultTtlSeconds: 3600 },
  ctx,
);

async function pool(n, work) {
  let next = 0;
  const out = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await work(i);
      }
    }),
  );
  return out;
}
const rate = (n, ms) => Math.round((n * 1000) / ms);

// 1. issue
let t0 = performance.now();
const issued = await pool(LEASES, () => leases.issue('/bench/db', 'i-bench', undefined, ctx));
const issueMs = performance.now() - t0;
// 2. revoke one by one (half of them)
const half = issued.slice(0, Math.floor(LEASES / 2));
t0 = performance.now();
await pool(half.length, (i) => leases.revoke(half[i].lease.id, ctx));
const revokeMs = performance.now() - t0;
// 3. the rest expire together: the reaper's batched revocation
t0 = performance.now();
await leases.revokeMany({ itemPrefix: '/bench/db' });
const report = await leases.reap();
const reapMs = performance.now() - t0;

await t.close();
const left = await target.tearDown(tag);
rmSync(dir, { recursive: true, force: true });
const result = {
  type: TYPE,
  store: STORE,
  leases: LEASES,
  concurrency: CONCURRENCY,
  issuedPerSecond: rate(LEASES, issueMs),
  revokedPerSecondOneByOne: rate(half.length, revokeMs),
  revokedPerSecondReaper: rate(report.revoked, reapMs),
  reaperFailures: report.failed + report.retrying,
  accountsLeftOnTarget: left,
};
console.log(JSON.stringify(result));
