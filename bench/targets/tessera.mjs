// Tessera itself: SQLite store in a fresh temp data dir (or --store postgres://…), log level
// `warn`, durable audit (always on). Creates one UID method and N root tokens, writes one JSON
// request body per token and line (for the load generator) to --bodies, then serves.
// Usage: node bench/targets/tessera.mjs --port 9104 --tokens 1000 --bodies /tmp/tessera-bodies.jsonl
//        node bench/targets/tessera.mjs --port 9105 --peer --store postgres://… --data-dir <the first
//        server's data dir, for its root.key>   (a second server on the same store: no setup)
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onStop, parseArgs, ready } from '../lib/args.mjs';
import { serverDist } from '../lib/server-dist.mjs';
import { startBenchTessera } from '../lib/tessera-target.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9104);
const tokenCount = Number(args.tokens ?? 1000);
const { server, dataDir, ownsDataDir, storeUrl, call, expect } = await startBenchTessera({
  args,
  port,
  dataDirPrefix: 'tessera-bench-',
});
const bodiesFile = args.bodies ?? join(dataDir, 'bodies.jsonl');

async function setUp() {
  const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
  const adminToken = expect(
    await call('POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } }),
    200,
    'admin sign-in',
  ).token;
  const methodName = '/bench/uid';
  expect(
    await call('POST', '/v1/auth-methods', {
      token: adminToken,
      body: { type: 'universal_identity', name: methodName, ttlSeconds: 86_400, jwtTtlSeconds: 86_400 },
    }),
    201,
    'create UID method',
  );
  const tokens = [];
  for (let i = 0; i < tokenCount; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, tokenCount - i) }, () =>
        call('POST', '/v1/uid/tokens', { token: adminToken, body: { authMethodName: methodName } }),
      ),
    );
    for (const r of batch) tokens.push(expect(r, 201, 'generate root token').token);
  }
  writeFileSync(
    bodiesFile,
    `${tokens.map((uidToken) => JSON.stringify({ accessType: 'universal_identity', uidToken })).join('\n')}\n`,
  );
  // One real exchange before anyone measures: the answer must be a session JWT.
  const probe = expect(
    await call('POST', '/v1/auth', { body: { accessType: 'universal_identity', uidToken: tokens[0] } }),
    200,
    'UID auth probe',
  );
  if (typeof probe.token !== 'string' || probe.token.split('.').length !== 3)
    throw new Error('UID auth did not return a JWT');
  return tokens.length;
}

if (args.peer) {
  ready({ target: 'tessera-peer', url: server.url, storeUrl, pid: process.pid, serverDist });
} else {
  const tokens = await setUp();
  ready({
    target: 'tessera',
    url: server.url,
    path: '/v1/auth',
    bodiesFile,
    tokens,
    dataDir,
    storeUrl,
    pid: process.pid,
    serverDist,
  });
}
onStop(async () => {
  await server.close();
  if (ownsDataDir && !args.peer) rmSync(dataDir, { recursive: true, force: true });
});
