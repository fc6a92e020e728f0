// Issue 13: Tessera with the internal CA, a profile and one CSR (openssl), so that certificate
// issuance (CSR check, ECDSA P-256 signature, durable insert + audit) and UID token → session are
// measured in the same run. Durable audit on (SQLite, or --store postgres://…).
// Usage: node bench/targets/tessera-pki.mjs --port 9110
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onStop, parseArgs, ready } from '../lib/args.mjs';
import { startBenchTessera } from '../lib/tessera-target.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9110);
const { server, dataDir, ownsDataDir, storeUrl, call, expect } = await startBenchTessera({
  args,
  port,
  dataDirPrefix: 'tessera-pki-bench-',
});
const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
const adminToken = expect(
  await call('POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } }),
  200,
  'admin sign-in',
).token;
expect(
  await call('POST', '/v1/pki/ca', { token: adminToken, body: { trustDomain: 'bench.test' } }),
  201,
  'CA',
);
expect(
  await call('PUT', '/v1/pki/profiles/bench', { token: adminToken, body: { maxTtlSeconds: 3600 } }),
  200,
  'profile',
);
// The workload's CSR (its key stays here): one request body, issued again and again (new serials).
const tmp = mkdtempSync(join(tmpdir(), 'tessera-pki-csr-'));
execFileSync(
  'openssl',
  [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(tmp, 'k'),
    '-out',
    join(tmp, 'c'),
    '-subj',
    '/O=bench',
  ],
  { stdio: 'pipe' },
);
const issueBody = JSON.stringify({ csr: readFileSync(join(tmp, 'c'), 'utf8'), ttlSeconds: 900 });
// ADR 0035: the same issuance with a key the server makes (the profile's first type, P-256).
const generateKeyBody = JSON.stringify({ generateKey: true, ttlSeconds: 900 });
rmSync(tmp, { recursive: true, force: true });
expect(
  await call('POST', '/v1/auth-methods', {
    token: adminToken,
    body: { type: 'universal_identity', name: '/bench/uid', ttlSeconds: 86_400, jwtTtlSeconds: 3600 },
  }),
  201,
  'create the UID method',
);
const uidToken = expect(
  await call('POST', '/v1/uid/tokens', { token: adminToken, body: { authMethodName: '/bench/uid' } }),
  201,
  'generate a root token',
).token;
const uidBody = JSON.stringify({ accessType: 'universal_identity', uidToken });
// One real request of each before anyone measures (the first issuance loads the X.509 code and the CA).
const issued = expect(
  await call('POST', '/v1/pki/issue/bench', { token: adminToken, body: JSON.parse(issueBody) }),
  200,
  'issue',
);
// An OCSP request for that certificate, made by openssl, for the GET form (RFC 6960 A.1).
const ocspDir = mkdtempSync(join(tmpdir(), 'tessera-pki-ocsp-'));
writeFileSync(join(ocspDir, 'cert.pem'), issued.certificatePem);
writeFileSync(join(ocspDir, 'ca.pem'), issued.caBundlePem);
execFileSync('openssl', [
  'ocsp',
  '-issuer',
  join(ocspDir, 'ca.pem'),
  '-cert',
  join(ocspDir, 'cert.pem'),
  '-no_nonce',
  '-reqout',
  join(ocspDir, 'req.der'),
]);
const ocspPath = `/pki/ocsp/${encodeURIComponent(readFileSync(join(ocspDir, 'req.der')).toString('base64'))}`;
rmSync(ocspDir, { recursive: true, force: true });
expect(await call('POST', '/v1/auth', { body: JSON.parse(uidBody) }), 200, 'auth probe');

ready({
  target: 'tessera-pki',
  url: server.url,
  adminToken,
  issueBody,
  generateKeyBody,
  uidBody,
  ocspPath,
  storeUrl,
  pid: process.pid,
});
onStop(async () => {
  await server.close();
  if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
});
