// DESIGN §5 budgets that need no load generator, measured side by side in one process run:
//  - session-token verification in the SDK: first sight vs raw node:crypto Ed25519 verify; repeated tokens/s
//  - policy decision with 1,000 rules (median)
//  - server start (SQLite, empty data dir) and idle RSS, in a child process
//  - CLI command round trip (`tessera auth` against a running server)
// Usage: node bench/micro.mjs   (after `npm run build`)
import { execFileSync, spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const { SessionTokenVerifier } = await import(join(root, 'packages/sdk/dist/index.js'));
const { buildMethodPolicy, decideAccess } = await import(
  join(root, 'packages/server/dist/core/access/access.policy.js')
);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out = [];

// --- SDK verification ------------------------------------------------------------------------
{
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'EdDSA', use: 'sig' };
  const b64 = (v) => Buffer.from(v).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const header = b64(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' }));
  const mint = () => {
    const body = b64(
      JSON.stringify({
        iss: 'x',
        aud: 'tessera',
        sub: 'i-1',
        am: 'p-1',
        client_id: 'p-1',
        jti: randomUUID(),
        iat: now,
        exp: now + 3600,
      }),
    );
    return `${header}.${body}.${sign(null, Buffer.from(`${header}.${body}`), privateKey).toString('base64url')}`;
  };
  const N = 5000;
  const tokens = Array.from({ length: N }, mint);
  const verifier = new SessionTokenVerifier({
    jwks: { keys: [jwk] },
    audience: 'tessera',
    maxCachedTokens: N * 2,
  });
  await verifier.verify(mint()); // key import
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  // raw node:crypto verify of the same tokens
  let t0 = performance.now();
  for (const t of tokens) {
    const i = t.lastIndexOf('.');
    verify(null, Buffer.from(t.slice(0, i)), key, Buffer.from(t.slice(i + 1), 'base64url'));
  }
  const rawUs = ((performance.now() - t0) / N) * 1000;
  t0 = performance.now();
  for (const t of tokens) await verifier.verify(t);
  const firstUs = ((performance.now() - t0) / N) * 1000;
  t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 1000) {
    await verifier.verify(tokens[n % 100]);
    n++;
  }
  const repeatedPerSec = n / ((performance.now() - t0) / 1000);
  out.push([
    'SDK verify, first sight',
    `${firstUs.toFixed(1)} µs (raw node:crypto verify ${rawUs.toFixed(1)} µs) = ${((rawUs / firstUs) * 100).toFixed(0)}% of raw`,
    '≥ 90% of raw',
    rawUs / firstUs >= 0.9,
  ]);
  out.push([
    'SDK verify, repeated token',
    `${Math.round(repeatedPerSec).toLocaleString('en')} /s`,
    '≥ 100,000 /s',
    repeatedPerSec >= 100_000,
  ]);
}

// --- policy decision -------------------------------------------------------------------------
// The full decision (ADR 0008): a principal's effective rules from three role associations (one
// narrowed by claims), 1,000 rules in all with `*`/`+` patterns, 2% deny, every tenth rule with an
// expiry and every twentieth with a CIDR or time-window condition; claims matched on every call.
{
  const now = Date.UTC(2026, 10, 23, 12);
  const rule = (i) => ({
    id: `r${i}`,
    ruleType: i % 3 === 0 ? 'identity' : 'auth-method',
    path: i % 2 ? `/team-${i}/+/config-*` : `/team-${i}/*`,
    capabilities: i % 50 === 0 ? ['deny'] : ['read', 'list'],
    expiresAtMs: i % 10 === 0 ? now + 3_600_000 : null,
    conditions:
      i % 20 === 5
        ? { cidrs: ['10.0.0.0/8'] }
        : i % 20 === 15
          ? { timeWindow: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], fromHour: 8, toHour: 18 } }
          : null,
  });
  const rules = Array.from({ length: 1000 }, (_, i) => rule(i));
  const roles = new Map([
    ['a', { id: 'a', name: 'team-a', rules: rules.slice(0, 400), includes: ['c'] }],
    ['b', { id: 'b', name: 'team-b', rules: rules.slice(400, 700), includes: [] }],
    ['c', { id: 'c', name: 'shared', rules: rules.slice(700), includes: [] }],
  ]);
  const policy = buildMethodPolicy(
    [
      { id: 'ra-1', roleId: 'a', claims: {} },
      { id: 'ra-2', roleId: 'b', claims: { environment: ['prod'], 'uid-subtree': ['n2'] } },
    ],
    roles,
  );
  const context = {
    nowMs: now,
    sourceIp: '10.1.2.3',
    claims: { 'identity-id': ['i-1'], environment: ['prod'], 'uid-subtree': ['n1', 'n2', 'n3'] },
  };
  const samples = [];
  let allowed = 0;
  for (let k = 0; k < 2000; k++) {
    const resource = { type: 'auth-method', path: `/team-${(k * 7) % 1000}/svc/config-${k}` };
    const t0 = performance.now();
    const d = decideAccess(policy, 'read', resource, context);
    samples.push((performance.now() - t0) * 1000);
    if (d.allowed) allowed++;
  }
  if (allowed === 0) throw new Error('the policy bench allowed nothing: it measures the wrong thing');
  const med = median(samples.slice(200));
  out.push([
    'policy decision, 1,000 rules (roles, claims, conditions, expiry)',
    `${med.toFixed(1)} µs median`,
    '≤ 20 µs',
    med <= 20,
  ]);
}

// --- server start and idle RSS; CLI round trip ------------------------------------------------
{
  const dir = mkdtempSync(join(tmpdir(), 'tessera-micro-'));
  const bin = join(root, 'packages/cli/bin/tessera.js');
  const t0 = performance.now();
  const server = spawn(
    process.execPath,
    [bin, 'server', '--port', '0', '--data-dir', join(dir, 'data'), '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = await new Promise((ok, fail) => {
    let log = '';
    server.stdout.on('data', (d) => {
      log += d;
      const m = /"url":"(http:[^"]+)"/.exec(log);
      if (m) ok(m[1]);
    });
    server.once('exit', () => fail(new Error(`server exited: ${log}`)));
  });
  const startMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 1500));
  const rssMb = Number(readFileSync(`/proc/${server.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
  out.push([
    'server start (SQLite, empty)',
    `${startMs.toFixed(0)} ms to listening (process spawn included)`,
    '< 1,500 ms',
    startMs < 1500,
  ]);
  out.push(['idle RSS', `${rssMb.toFixed(0)} MB`, '< 150 MB', rssMb < 150]);
  const admin = JSON.parse(readFileSync(join(dir, 'data/admin.json'), 'utf8'));
  const env = { ...process.env, TESSERA_URL: url, TESSERA_CONFIG_DIR: join(dir, 'cfg') };
  const runs = [];
  for (let i = 0; i < 7; i++) {
    const s = performance.now();
    execFileSync(
      process.execPath,
      [
        bin,
        'auth',
        '--access-type',
        'access_key',
        '--access-id',
        admin.accessId,
        '--access-key',
        admin.accessKey,
        '--json',
      ],
      { env },
    );
    runs.push(performance.now() - s);
  }
  const cli = median(runs);
  out.push(['CLI round trip (tessera auth)', `${cli.toFixed(0)} ms median of 7`, '< 300 ms', cli < 300]);
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}

console.log(`node ${process.version}\n`);
for (const [what, measured, budget, met] of out)
  console.log(`${what.padEnd(32)} ${measured.padEnd(62)} ${budget.padEnd(14)} ${met ? 'MET' : 'MISSED'}`);
