// DESIGN §5 / issue 19: 1,000,000 UID nodes. `/v1/auth` p99 with 1,000,000 nodes in the store
// within 2x of the figure with 1,000; revoking a 100,000-node subtree inside the large tree < 1 s.
//
// On SQLite (the in-process server over real HTTP): a 1,000-node tree, 50 of its nodes with a
// credential; exchanges measured (--requests, --concurrency); then 999,000 more nodes (a 100,000-node
// subtree and the rest) are inserted from a worker thread on its own connection (bench/lib/uid-tree.mjs:
// generated as written, a transaction per 20,000 rows, progress on stderr, the server's event loop
// free), the same exchanges measured again plus 50 credentials deep in the large tree, list and tree
// pages timed, and the 100,000-node subtree revoked over HTTP.
//
// On PostgreSQL (`--store postgres://…/db`, a fresh empty database the caller created, e.g.
// `createdb -h 127.0.0.1 -U postgres tessera_scale_$$`, and drops afterwards): the same, the bulk
// insert over its own connection (bulkInsertPg: multi-row `insert … select * from unnest(…)`, 20,000
// rows a statement); and, unless `--no-peer`, a second server process on the same database
// (`tessera --peer`) is polled every 10 ms from the moment the revoke is sent until it refuses the
// revoked subtree's session with TESSERA_TOKEN_REVOKED (the cluster claim: < 1 s on every node).
// Usage: node bench/scale.mjs [--nodes 1000000] [--requests 3000] [--concurrency 8]
//        [--store postgres://user@host:port/fresh_database] [--no-peer] [--trace]
//   --trace: the server's 5 slowest SQL statements during the revoke call (bench/lib/sql-trace.mjs).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './lib/args.mjs';
import { assertBuilt, importServer } from './lib/server-dist.mjs';
import { installSqlTrace } from './lib/sql-trace.mjs';
import { startTarget } from './lib/targets.mjs';
import { bulkInsert, bulkInsertPg, bulkInsertSqlite, subtreeRows } from './lib/uid-tree.mjs';

const args = parseArgs();
const NODES = Number(args.nodes ?? 1_000_000);
const REQUESTS = Number(args.requests ?? 3000);
const CONCURRENCY = Number(args.concurrency ?? 8);
const SUBTREE = 100_000;
const STORE = args.store && args.store !== 'sqlite' ? String(args.store) : null;
const PEER = Boolean(STORE) && !args['no-peer'];
const ISSUER = 'http://tessera.bench';
assertBuilt();
const trace = args.trace ? installSqlTrace((await import('./lib/server-dist.mjs')).serverDist) : null;
const { loadConfig, startServer } = await importServer();
const { createCredentialFactory } = await importServer('crypto/credentials.js');
const credentials = createCredentialFactory({ hash: (v) => `unused:${v.length}` });

async function http(base, method, path, { token, body } = {}, retried = false) {
  // A keep-alive connection the server closed while a bulk insert held its event loop: once more.
  const res = await send(base, method, path, token, body).catch((error) => {
    if (retried) throw error;
    return null;
  });
  if (res === null) return http(base, method, path, { token, body }, true);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
function send(base, method, path, token, body) {
  return fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}
const must = (r, status, what) => {
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

const dataDir = mkdtempSync(join(tmpdir(), 'tessera-scale-'));
const server = await startServer(
  loadConfig(
    { port: 0, host: '127.0.0.1', dataDir, logLevel: 'warn', ...(STORE ? { storeUrl: STORE } : {}) },
    { TESSERA_ISSUER: ISSUER },
  ),
);
const db = server.tessera.store.db;
const url = server.url;
let peer = null;
try {
  if (PEER)
    // A second server process on the same database (same root key via the same data dir).
    peer = await startTarget('tessera', {
      args: ['--peer', '--store', STORE, '--data-dir', dataDir],
      env: { TESSERA_ISSUER: ISSUER },
    });
  const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
  const adminToken = must(
    await http(url, 'POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } }),
    200,
    'admin',
  ).token;
  const methodName = '/bench/scale';
  must(
    await http(url, 'POST', '/v1/auth-methods', {
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
    'method',
  );
  const rootOf = async () => {
    const t = must(
      await http(url, 'POST', '/v1/uid/tokens', { token: adminToken, body: { authMethodName: methodName } }),
      201,
      'root',
    );
    return db.selectFrom('uid_nodes').selectAll().where('id', '=', t.tokenId).executeTakeFirstOrThrow();
  };
  /** Gives `count` nodes of `rows` (spread over it) a UID credential; returns the tokens. */
  const credentialsFor = async (rows, count) => {
    const now = Date.now();
    const tokens = [];
    for (let i = 0; i < count; i++) {
      const node = rows[Math.floor(((i + 0.5) * rows.length) / count)];
      const uidToken = credentials.newUidToken();
      await db
        .insertInto('uid_credentials')
        .values({
          hash: credentials.hashCredential(uidToken),
          node_id: node.id,
          generation: 1,
          state: 'current',
          manual_ack: 0,
          grace_until: null,
          created_at: now,
          activated_at: now,
          superseded_at: null,
        })
        .execute();
      tokens.push(uidToken);
    }
    return tokens;
  };
  /** `REQUESTS` exchanges over `CONCURRENCY` connections, cycling over `tokens`; latencies in ms. */
  const measure = async (tokens) => {
    const times = [];
    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        const i = next++;
        const t0 = performance.now();
        const r = await http(url, 'POST', '/v1/auth', {
          body: { accessType: 'universal_identity', uidToken: tokens[i % tokens.length] },
        });
        times.push(performance.now() - t0);
        if (r.status !== 200) throw new Error(`auth ${r.status} ${JSON.stringify(r.body)}`);
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - t0) / 1000;
    return {
      p50Ms: Number(quantile(times, 0.5).toFixed(2)),
      p99Ms: Number(quantile(times, 0.99).toFixed(2)),
      perSecond: Math.round(REQUESTS / seconds),
    };
  };

  const smallRoot = await rootOf();
  const small = subtreeRows(smallRoot, 1000, 's', Date.now());
  await bulkInsert(db, small);
  const smallTokens = await credentialsFor(small, 50);
  await measure(smallTokens); // warm-up
  const at1k = await measure(smallTokens);
  console.log(JSON.stringify({ nodes: 1000, auth: at1k }));

  const t0 = performance.now();
  const file = server.tessera.store.sqliteFile;
  if (!file && !STORE) throw new Error('scale.mjs runs on a SQLite file store or --store postgres://…');
  const insertLarge = (...a) => (STORE ? bulkInsertPg(STORE, ...a) : bulkInsertSqlite(file, ...a));
  let built = 1000;
  const progress = (base) => (done) => {
    const rate = Math.round((base + done - 1000) / ((performance.now() - t0) / 1000));
    process.stderr.write(`  ${(base + done).toLocaleString('en')} nodes (${rate.toLocaleString('en')}/s)\n`);
  };
  const revokeRoot = await rootOf();
  const sub = await insertLarge(revokeRoot, SUBTREE, 'v', Date.now(), {
    samples: 50,
    onProgress: progress(built),
  });
  built += SUBTREE;
  const rest = NODES - 1000 - SUBTREE;
  for (let done = 0, part = 0; done < rest; part++) {
    // Several roots of at most 200,000 nodes each (the fan-out helper's shape).
    const root = await rootOf();
    const size = Math.min(200_000, rest - done);
    await insertLarge(root, size, `b${part}`, Date.now(), { onProgress: progress(built) });
    built += size;
    done += size;
  }
  const buildSeconds = (performance.now() - t0) / 1000;
  const count = await db
    .selectFrom('uid_nodes')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  const deepTokens = await credentialsFor(sub, 50);
  await measure(smallTokens);
  const atLarge = await measure(smallTokens);
  const atLargeDeep = await measure(deepTokens);
  console.log(
    JSON.stringify({
      nodes: Number(count.n),
      buildSeconds: Math.round(buildSeconds),
      auth: atLarge,
      authDeepInLargeTree: atLargeDeep,
    }),
  );

  const session = must(
    await http(url, 'POST', '/v1/auth', {
      body: { accessType: 'universal_identity', uidToken: deepTokens[0] },
    }),
    200,
    'deep session',
  );
  trace?.start();
  const r0 = performance.now();
  const revoke = must(
    await http(url, 'POST', '/v1/uid/revoke', {
      token: adminToken,
      body: { authMethodName: methodName, tokenId: revokeRoot.id, type: 'all' },
    }),
    200,
    'revoke',
  );
  const revokeMs = performance.now() - r0;
  const statements = (trace?.stop() ?? [])
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 5)
    .map((e) => `${e.ms.toFixed(1)} ms ${e.sql.slice(0, 200)}`);
  const after = await http(url, 'GET', '/v1/uid/tree', { token: session.token });
  let peerSeen = null;
  if (peer) {
    // The second server, polled every 10 ms from the moment the revoke was sent.
    let firstRefusal = null;
    while (performance.now() - r0 < 10_000) {
      const r = await http(peer.info.url, 'GET', '/v1/uid/tree', { token: session.token });
      const t = performance.now() - r0;
      if (r.status !== 200 && firstRefusal === null)
        firstRefusal = { ms: Math.round(t), code: r.body?.error?.code };
      if (r.body?.error?.code === 'TESSERA_TOKEN_REVOKED') {
        peerSeen = { firstRefusal, tokenRevokedMs: Math.round(t), afterAnswerMs: Math.round(t - revokeMs) };
        break;
      }
      await new Promise((res) => setTimeout(res, 10));
    }
    peerSeen ??= { firstRefusal, tokenRevokedMs: null };
  }
  console.log(
    JSON.stringify({
      revokeSubtree: {
        nodes: SUBTREE,
        revokedCount: revoke.revokedCount,
        ms: Math.round(revokeMs),
        derivedSessionAfter: after.status,
        ...(peer ? { secondServer: peerSeen } : {}),
        ...(trace ? { slowestStatements: statements } : {}),
      },
      ratioP99: Number((atLarge.p99Ms / at1k.p99Ms).toFixed(2)),
      ratioP99Deep: Number((atLargeDeep.p99Ms / at1k.p99Ms).toFixed(2)),
    }),
  );
} finally {
  if (peer) await peer.stop();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
