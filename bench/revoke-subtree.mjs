// Revoking a 100,000-node UID subtree (DESIGN §5: < 1 s; derived session tokens refused on every
// server within 1 s).
//
// For each store (SQLite, and PostgreSQL when reachable): start Tessera, create a UID method and a
// root token, bulk-insert 99,999 descendants under the root straight into uid_nodes (Kysely, in
// one transaction, batches of 1,000 rows, the row shape of the conformance test) in a 10/100/1,000/
// 98,889 fan-out down to depth 5, give one depth-5 node a credential, exchange it for a session
// token (POST /v1/auth), then time `POST /v1/uid/revoke {type:'all'}` on the root over real HTTP and
// check the derived session token is refused right after. On PostgreSQL a SECOND Tessera process
// on the same database is polled every 10 ms until it refuses the same session token.
//
// Usage: node bench/revoke-subtree.mjs [--nodes 100000] [--reps 3] [--stores sqlite,postgres]
//        [--pg postgres://postgres@127.0.0.1:5432/postgres]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { pgDatabase } from './lib/pg-database.mjs';
import { assertBuilt, importServer, serverDist } from './lib/server-dist.mjs';
import { installSqlTrace } from './lib/sql-trace.mjs';
import { median } from './lib/stats.mjs';
import { startTarget } from './lib/targets.mjs';
import { bulkInsert, subtreeRows } from './lib/uid-tree.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs();
const NODES = Number(args.nodes ?? 100_000);
const REPS = Number(args.reps ?? 3);
const PG_ADMIN_URL =
  args.pg ?? process.env.TESSERA_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const stores = String(args.stores ?? 'sqlite,postgres').split(',');
const POLL_MS = 10;
const ISSUER = 'http://tessera.bench';
const BUDGET_MS = 1000;

assertBuilt();
const { loadConfig, startServer } = await importServer();
const { createCredentialFactory } = await importServer('crypto/credentials.js');
const credentials = createCredentialFactory({ hash: (v) => `unused:${v.length}` });
const pg = createRequire(join(serverDist, 'index.js'))('pg');
const trace = installSqlTrace(serverDist);

const ms = (x) => (x === null || x === undefined ? 'n/a' : `${x.toFixed(1)} ms`);

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
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, body: json };
}

function expect(res, status, what) {
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function pgReachable() {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function runStore(kind) {
  const dataDir = mkdtempSync(join(tmpdir(), `tessera-revoke-${kind}-`));
  const database = kind === 'postgres' ? await pgDatabase(PG_ADMIN_URL) : null;
  const config = loadConfig(
    {
      port: 0,
      host: '127.0.0.1',
      dataDir,
      logLevel: 'warn',
      ...(database ? { storeUrl: database.url } : {}),
    },
    { ...process.env, TESSERA_ISSUER: ISSUER },
  );
  const server = await startServer(config);
  const { tessera } = server;
  const db = tessera.store.db;
  let peer = null;
  const reps = [];
  try {
    const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
    const adminToken = expect(
      await http(server.url, 'POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } }),
      200,
      'admin sign-in',
    ).token;
    const methodName = '/bench/revoke';
    expect(
      await http(server.url, 'POST', '/v1/auth-methods', {
        token: adminToken,
        body: {
          type: 'universal_identity',
          name: methodName,
          ttlSeconds: 86_400,
          jwtTtlSeconds: 3600,
          treeLength: 5,
        },
      }),
      201,
      'create UID method',
    );
    if (kind === 'postgres') {
      // A second server process on the same database (same root key via the same data dir).
      peer = await startTarget('tessera', {
        args: ['--peer', '--store', database.url, '--data-dir', dataDir],
        env: { TESSERA_ISSUER: ISSUER },
      });
    }
    for (let rep = 1; rep <= REPS; rep++) {
      const rootTok = expect(
        await http(server.url, 'POST', '/v1/uid/tokens', {
          token: adminToken,
          body: { authMethodName: methodName },
        }),
        201,
        'root token',
      );
      const rootRow = await db
        .selectFrom('uid_nodes')
        .selectAll()
        .where('id', '=', rootTok.tokenId)
        .executeTakeFirstOrThrow();
      const now = Date.now();
      const rows = subtreeRows(rootRow, NODES, `r${rep}`, now);
      const t0 = performance.now();
      await bulkInsert(db, rows);
      const buildMs = performance.now() - t0;
      const deep = rows[rows.length - 1];
      const uidToken = credentials.newUidToken();
      await db
        .insertInto('uid_credentials')
        .values({
          hash: credentials.hashCredential(uidToken),
          node_id: deep.id,
          generation: 1,
          state: 'current',
          manual_ack: 0,
          grace_until: null,
          created_at: now,
          activated_at: now,
          superseded_at: null,
        })
        .execute();
      const session = expect(
        await http(server.url, 'POST', '/v1/auth', { body: { accessType: 'universal_identity', uidToken } }),
        200,
        'deep-node auth',
      );
      if (session.uidTokenId !== deep.id)
        throw new Error(`session is for ${session.uidTokenId}, not ${deep.id}`);
      expect(
        await http(server.url, 'GET', '/v1/uid/tree', { token: session.token }),
        200,
        'session accepted before revoke',
      );
      if (peer)
        expect(
          await http(peer.info.url, 'GET', '/v1/uid/tree', { token: session.token }),
          200,
          'peer accepts session before revoke',
        );

      // The measured call: one HTTP round trip.
      trace.start();
      const start = performance.now();
      const revoke = await http(server.url, 'POST', '/v1/uid/revoke', {
        token: adminToken,
        body: { authMethodName: methodName, tokenId: rootTok.tokenId, type: 'all' },
      });
      const revokeMs = performance.now() - start;
      const statements = trace.stop();
      expect(revoke, 200, 'revoke all');
      const after = await http(server.url, 'GET', '/v1/uid/tree', { token: session.token });
      const reAuth = await http(server.url, 'POST', '/v1/auth', {
        body: { accessType: 'universal_identity', uidToken },
      });
      const rep_ = {
        rep,
        nodes: rows.length + 1,
        buildMs,
        revokeMs,
        revokedCount: revoke.body.revokedCount,
        sameServer: { status: after.status, code: after.body?.error?.code ?? null },
        reAuthStatus: reAuth.status,
        // The server's statements during the revoke call, slowest first (in-process server only).
        statements: statements
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 8)
          .map((e) => ({ ms: Math.round(e.ms * 10) / 10, sql: e.sql.slice(0, 160) })),
      };
      if (peer) {
        // Poll the second server every 10 ms from the moment the revoke was sent.
        let firstRefusalMs = null;
        let firstRefusalCode = null;
        let revokedCodeMs = null;
        while (performance.now() - start < 10_000) {
          const r = await http(peer.info.url, 'GET', '/v1/uid/tree', { token: session.token });
          const t = performance.now() - start;
          if (r.status !== 200 && firstRefusalMs === null) {
            firstRefusalMs = t;
            firstRefusalCode = r.body?.error?.code ?? String(r.status);
          }
          if (r.body?.error?.code === 'TESSERA_TOKEN_REVOKED') {
            revokedCodeMs = t;
            break;
          }
          await new Promise((res) => setTimeout(res, POLL_MS));
        }
        rep_.peer = {
          firstRefusalMs,
          firstRefusalCode,
          tokenRevokedMs: revokedCodeMs,
          afterAnswerMs: revokedCodeMs === null ? null : revokedCodeMs - revokeMs,
        };
      }
      const alive = await db
        .selectFrom('uid_nodes')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('path', '>=', rootRow.path)
        .where('path', '<', `${rootRow.path.slice(0, -1)}0`)
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      rep_.aliveAfter = Number(alive.n);
      reps.push(rep_);
      const peerText = rep_.peer
        ? `; 2nd server: first refusal ${ms(rep_.peer.firstRefusalMs)} (${rep_.peer.firstRefusalCode}), ` +
          `TESSERA_TOKEN_REVOKED ${ms(rep_.peer.tokenRevokedMs)} after the request = ${ms(rep_.peer.afterAnswerMs)} after the answer`
        : '';
      const slowest = rep_.statements[0];
      console.log(
        `  ${kind} rep ${rep}: built ${rep_.nodes} nodes in ${ms(buildMs)}; revoke all ${ms(revokeMs)} (revokedCount ${rep_.revokedCount}); ` +
          `same server right after: ${rep_.sameServer.status} ${rep_.sameServer.code}, UID re-auth ${rep_.reAuthStatus}${peerText}` +
          `${slowest ? `\n      slowest statement in the call: ${ms(slowest.ms)} ${slowest.sql.slice(0, 110)}` : ''}`,
      );
    }
  } finally {
    if (peer) await peer.stop();
    await server.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return reps;
}

const results = {};
console.log(
  `revoke a ${NODES.toLocaleString('en')}-node subtree, ${REPS} rep(s) per store; server build ${serverDist}`,
);
for (const kind of stores) {
  if (kind === 'postgres' && !(await pgReachable())) {
    console.log(`  postgres: ${PG_ADMIN_URL.replace(/\/\/[^@]*@/, '//')} not reachable, skipped`);
    continue;
  }
  results[kind] = await runStore(kind);
}

console.log(
  `\nstore       revoke all (median / max)   refused on same server   2nd server refuses, from request (median / max) [max after answer]   budget < ${BUDGET_MS} ms`,
);
const summary = {};
for (const [kind, reps] of Object.entries(results)) {
  const revoke = reps.map((r) => r.revokeMs);
  const correct = reps.every(
    (r) =>
      r.revokedCount === r.nodes &&
      r.aliveAfter === 0 &&
      r.sameServer.code === 'TESSERA_TOKEN_REVOKED' &&
      r.reAuthStatus === 401,
  );
  const peer = reps.filter((r) => r.peer).map((r) => r.peer.tokenRevokedMs);
  const peerAny = reps.filter((r) => r.peer).map((r) => r.peer.firstRefusalMs);
  const peerAfter = reps.filter((r) => r.peer).map((r) => r.peer.afterAnswerMs);
  const revokeMet = Math.max(...revoke) < BUDGET_MS;
  const peerMet = peer.length ? peer.every((x) => x !== null && x < BUDGET_MS) : null;
  summary[kind] = {
    revokeMedianMs: median(revoke),
    revokeMaxMs: Math.max(...revoke),
    correct,
    peerTokenRevokedMedianMs: peer.length && peer.every((x) => x !== null) ? median(peer) : null,
    peerTokenRevokedMaxMs: peer.length && peer.every((x) => x !== null) ? Math.max(...peer) : null,
    peerFirstRefusalMedianMs: peerAny.length && peerAny.every((x) => x !== null) ? median(peerAny) : null,
    peerAfterAnswerMaxMs:
      peerAfter.length && peerAfter.every((x) => x !== null) ? Math.max(...peerAfter) : null,
    revokeMet,
    peerMet,
  };
  const s = summary[kind];
  console.log(
    `${kind.padEnd(10)}  ${`${ms(s.revokeMedianMs)} / ${ms(s.revokeMaxMs)}`.padEnd(26)}  ${(correct ? 'yes (TOKEN_REVOKED)' : 'NO').padEnd(23)}  ` +
      `${peer.length ? `${ms(s.peerTokenRevokedMedianMs)} / ${ms(s.peerTokenRevokedMaxMs)} [${ms(s.peerAfterAnswerMaxMs)}]` : 'n/a (one process)'}`.padEnd(
        64,
      ) +
      `revoke ${revokeMet ? 'MET' : 'MISSED'}${peerMet === null ? '' : `, propagation ${peerMet ? 'MET' : 'MISSED'}`}`,
  );
}

const resultsDir = join(root, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const out = {
  kind: 'revoke-subtree',
  at: new Date().toISOString(),
  nodes: NODES,
  reps: REPS,
  serverDist,
  summary,
  results,
};
const file = join(resultsDir, `revoke-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nresults: ${file}`);
if (Object.values(summary).some((s) => !s.correct)) process.exitCode = 2;
