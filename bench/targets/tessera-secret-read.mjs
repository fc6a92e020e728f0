// Tessera serving secret reads: SQLite store in a fresh temp data dir (or --store postgres://…), log
// level `warn`, durable audit (always on). Creates one secret, and a machine that may read it: a
// Universal Identity auth method whose role grants `read` on `/bench/*`, and a session token from
// one of its UID tokens (the administrator's session when roles are not available). Then serves;
// the load generator sends `GET /v1/secrets/value?name=…` with that session token.
// Usage: node bench/targets/tessera-secret-read.mjs --port 9106 [--store postgres://…] [--value-bytes 64]
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { onStop, parseArgs, ready } from '../lib/args.mjs';
import { serverDist } from '../lib/server-dist.mjs';
import { startBenchTessera } from '../lib/tessera-target.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9106);
const valueBytes = Number(args['value-bytes'] ?? 64);
const { server, dataDir, ownsDataDir, storeUrl, call, expect } = await startBenchTessera({
  args,
  port,
  dataDirPrefix: 'tessera-bench-secret-',
});

const SECRET = '/bench/db-password';

/** A machine session allowed to read `/bench/*` through a role, or null when roles are not there. */
async function machineSession(adminToken) {
  const method = '/bench/reader';
  expect(
    await call('POST', '/v1/auth-methods', {
      token: adminToken,
      body: { type: 'universal_identity', name: method, ttlSeconds: 86_400, jwtTtlSeconds: 86_400 },
    }),
    201,
    'create UID method',
  );
  const role = await call('POST', '/v1/roles', { token: adminToken, body: { name: 'bench-reader' } });
  if (role.status !== 201) return null;
  const rule = { ruleType: 'item', path: '/bench/*', capabilities: ['read'] };
  let ruled = await call('POST', '/v1/roles/bench-reader/rules', { token: adminToken, body: rule });
  if (ruled.status === 404)
    ruled = await call('PUT', '/v1/roles/bench-reader/rules', { token: adminToken, body: rule });
  if (ruled.status >= 300) return null;
  const associated = await call('POST', '/v1/roles/bench-reader/associations', {
    token: adminToken,
    body: { authMethodName: method },
  });
  if (associated.status >= 300) return null;
  const uid = expect(
    await call('POST', '/v1/uid/tokens', { token: adminToken, body: { authMethodName: method } }),
    201,
    'generate UID token',
  );
  return expect(
    await call('POST', '/v1/auth', { body: { accessType: 'universal_identity', uidToken: uid.token } }),
    200,
    'UID sign-in',
  ).token;
}

const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
const adminToken = expect(
  await call('POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } }),
  200,
  'admin sign-in',
).token;
const value = 'v'.repeat(valueBytes);
expect(
  await call('POST', '/v1/secrets', { token: adminToken, body: { name: SECRET, value } }),
  201,
  'create secret',
);
const machine = await machineSession(adminToken).catch(() => null);
const token = machine ?? adminToken;
const path = `/v1/secrets/value?name=${encodeURIComponent(SECRET)}`;
// One real read before anyone measures: the answer must be the value.
const probe = expect(await call('GET', path, { token }), 200, 'secret read probe');
if (probe.value !== value) throw new Error('the secret read returned another value');

ready({
  target: 'tessera-secret-read',
  url: server.url,
  path,
  method: 'GET',
  headers: { authorization: `Bearer ${token}` },
  reader: machine
    ? 'UID session, role bench-reader (read /bench/*)'
    : 'administrator session (roles unavailable)',
  valueBytes,
  dataDir,
  storeUrl,
  pid: process.pid,
  serverDist,
});
onStop(async () => {
  await server.close();
  if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
});
