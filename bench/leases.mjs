// Issue 6: dynamic-secret leases issued and revoked per second, per producer type (--type
// postgresql|mysql|redis: PostgreSQL, MariaDB/MySQL, Redis ACL users on the machine). Runs the server's own services (no HTTP):
// issue = lease row + account on the target + activation, all durable; revoke = one at a time
// (`leases.revoke`, concurrent callers) and in bulk (every lease due at once, then the reaper).
// Usage: node bench/leases.mjs [--type postgresql|mysql|redis] [--leases 2000] [--concurrency 16] [--store sqlite|postgres]
// Targets: TESSERA_BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/postgres), TESSERA_BENCH_MYSQL_URL
// (mysql://root@127.0.0.1:3306/test), TESSERA_BENCH_REDIS_URL (redis://127.0.0.1:6379).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createClient } from 'redis';
import { parseArgs } from './lib/args.mjs';
import { importServer } from './lib/server-dist.mjs';

const args = parseArgs();
const TYPE = String(args.type ?? 'postgresql');
const LEASES = Number(args.leases ?? 2000);
const CONCURRENCY = Number(args.concurrency ?? 16);
const STORE = String(args.store ?? 'sqlite');
const PG_URL = process.env.TESSERA_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MYSQL_URL = process.env.TESSERA_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const REDIS_URL = process.env.TESSERA_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The Tessera store on PostgreSQL (--store postgres): a database made for the run, whatever the target. */
async function pgAdmin(work) {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}
async function storeUp(tag) {
  if (STORE !== 'postgres') return undefined;
  await pgAdmin((c) => c.query(`create database bench_store_${tag}`));
  return Object.assign(new URL(PG_URL), { pathname: `/bench_store_${tag}` }).toString();
}
async function storeDown(tag) {
  if (STORE === 'postgres')
    await pgAdmin((c) => c.query(`drop database if exists bench_store_${tag} with (force)`));
}

/** Per type: a target to mint accounts on (created for the run) and the item's settings. */
const TARGETS = {
  postgresql: {
    async setUp(tag) {
      await pgAdmin((c) => c.query(`create database bench_target_${tag}`));
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
        storeUrl: await storeUp(tag),
      };
    },
    async tearDown(tag) {
      const left = await pgAdmin(async (c) => {
        const rows = await c.query('select rolname from pg_roles where rolname like $1', [`tsrb_${tag}_%`]);
        for (const r of rows.rows) await c.query(`drop role if exists "${r.rolname}"`);
        await c.query(`drop database if exists bench_target_${tag} with (force)`);
        return rows.rowCount;
      });
      await storeDown(tag);
      return left;
    },
  },
  mysql: {
    async setUp(tag) {
      const u = new URL(MYSQL_URL);
      return {
        settings: {
          host: u.hostname,
          port: Number(u.port || 3306),
          database: u.pathname.slice(1) || 'test',
          adminUsername: decodeURIComponent(u.username) || 'root',
          adminPassword: decodeURIComponent(u.password),
          usernamePrefix: `tsrb_${tag}_`,
        },
        storeUrl: await storeUp(tag),
      };
    },
    async tearDown(tag) {
      const u = new URL(MYSQL_URL);
      const c = await mysql.createConnection({
        host: u.hostname,
        port: Number(u.port || 3306),
        user: decodeURIComponent(u.username) || 'root',
        password: decodeURIComponent(u.password),
      });
      const [rows] = await c.query('SELECT User AS u, Host AS h FROM mysql.user WHERE User LIKE ?', [
        `tsrb\\_${tag}\\_%`,
      ]);
      for (const { u: user, h } of rows) await c.query('DROP USER IF EXISTS ?@?', [String(user), String(h)]);
      await c.end();
      await storeDown(tag);
      return rows.length;
    },
  },
  redis: {
    async setUp(tag) {
      const u = new URL(REDIS_URL);
      return {
        settings: {
          host: u.hostname,
          port: Number(u.port || 6379),
          adminUsername: decodeURIComponent(u.username) || 'default',
          adminPassword: decodeURIComponent(u.password),
          usernamePrefix: `tsrb_${tag}_`,
          creationStatements: [`~bench:${tag}:* +@read`],
        },
        storeUrl: await storeUp(tag),
      };
    },
    async tearDown(tag) {
      const c = createClient({ url: REDIS_URL });
      await c.connect();
      const users = (await c.sendCommand(['ACL', 'USERS'])).filter((u) => u.startsWith(`tsrb_${tag}_`));
      for (const u of users) await c.sendCommand(['ACL', 'DELUSER', u]);
      c.destroy();
      await storeDown(tag);
      return users.length;
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
