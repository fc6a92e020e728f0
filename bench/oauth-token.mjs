// Issue 12 benchmark: `client_credentials` with `private_key_jwt` and a DPoP proof (both EdDSA,
// EdDSA JWT access tokens), Tessera (durable audit on) against oidc-provider configured the same
// way, one target at a time, the server pinned to one core and the load generator to the other.
// Every request carries a fresh assertion and a fresh proof (single-use `jti`s), prepared before
// the run so that signing does not load the measured core.
// Flags: --duration 10 --connections 50 --requests 60000 (prepared per target) --targets a,b
//        --server-core 0 --load-core 1 --rounds 1
//        target `tessera-oauth-jwks-uri`: the same, the client's key fetched from its `jwksUri`
//        (a loopback JWKS server in the target process) instead of inline `jwks`.
//        --base-dist DIR: also measure `tessera-oauth-base`, the same target loaded from another
//        server build (e.g. main's packages/server/dist copied aside): before/after in one run.
//        target `oauth-floor` (bench/targets/oauth-floor.mjs): the least a server keeping the RFC checks
//        and the durable audit must do per token, printed against oidc-provider and Tessera against it.

import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from './lib/args.mjs';
import { cpuSnapshot, cpuUsPerRequest } from './lib/cpu.mjs';
import { pinned } from './lib/loadgen.mjs';
import { median } from './lib/stats.mjs';
import { startTarget } from './lib/targets.mjs';

const args = parseArgs();
const durationSec = Number(args.duration ?? 10);
const connections = Number(args.connections ?? 50);
const requestCount = Number(args.requests ?? 60_000);
const rounds = Number(args.rounds ?? 1);
const serverCore = args['server-core'] ?? '0';
const loadCore = args['load-core'] ?? '1';
const baseDist = args['base-dist'] ? String(args['base-dist']) : null;
const targets = String(
  args.targets ?? `oidc-provider-dpop,tessera-oauth${baseDist ? ',tessera-oauth-base' : ''}`,
).split(',');

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function jws(header, payload, key) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

const client = generateKeyPairSync('ed25519');
const clientJwk = {
  ...client.publicKey.export({ format: 'jwk' }),
  kid: 'bench-client-key',
  alg: 'EdDSA',
  use: 'sig',
};
const dpop = generateKeyPairSync('ed25519');
const dpopJwk = { ...dpop.publicKey.export({ format: 'jwk' }) };

/** One prepared request per line: a fresh assertion and a fresh proof. */
function prepare(info, file) {
  const now = Math.floor(Date.now() / 1000);
  const lines = [];
  for (let i = 0; i < requestCount; i++) {
    const assertion = jws(
      { alg: 'EdDSA', kid: clientJwk.kid },
      {
        iss: info.clientId,
        sub: info.clientId,
        aud: info.audience,
        jti: randomUUID(),
        iat: now,
        exp: now + 240,
      },
      client.privateKey,
    );
    const proof = jws(
      { alg: 'EdDSA', typ: 'dpop+jwt', jwk: dpopJwk },
      {
        htm: 'POST',
        htu: info.tokenEndpoint,
        jti: randomUUID(),
        iat: now,
        ...(info.nonce ? { nonce: info.nonce } : {}),
      },
      dpop.privateKey,
    );
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: info.clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
      scope: info.scope,
      resource: info.resource,
    }).toString();
    lines.push(
      JSON.stringify({ body, headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof } }),
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

function load(cfg) {
  const argv = pinned(loadCore, [
    process.execPath,
    join(import.meta.dirname, 'lib/autocannon-requests-worker.mjs'),
    JSON.stringify(cfg),
  ]);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop()))
        : reject(new Error(`load exited ${code}`)),
    );
  });
}

async function probe(info, file) {
  const { body, headers } = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8').split('\n')[0]);
  const res = await fetch(`${info.url}${info.path}`, { method: 'POST', body, headers });
  const json = await res.json();
  const header = json.access_token
    ? JSON.parse(Buffer.from(json.access_token.split('.')[0], 'base64url'))
    : null;
  const payload = json.access_token
    ? JSON.parse(Buffer.from(json.access_token.split('.')[1], 'base64url'))
    : null;
  if (
    res.status !== 200 ||
    header?.alg !== 'EdDSA' ||
    !payload?.cnf?.jkt ||
    String(json.token_type).toLowerCase() !== 'dpop'
  )
    throw new Error(
      `${info.target} did not issue a DPoP-bound EdDSA JWT: ${res.status} ${JSON.stringify(json)}`,
    );
  return { alg: header.alg, tokenType: json.token_type, cnf: Object.keys(payload.cnf) };
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-oauth-bench-'));
const results = Object.fromEntries(targets.map((t) => [t, []]));
try {
  for (let round = 0; round < rounds; round++) {
    for (const name of targets) {
      const profileDir = args.profile ? mkdtempSync(join(tmpdir(), 'oauth-prof-')) : null;
      let loadStart = null;
      let loadEnd = null;
      const target = await startTarget(name.startsWith('tessera-oauth') ? 'tessera-oauth' : name, {
        core: serverCore,
        env: name === 'tessera-oauth-base' ? { TESSERA_BENCH_SERVER_DIST: baseDist } : {},
        args: [
          '--client-jwk',
          JSON.stringify(clientJwk),
          ...(name === 'tessera-oauth-jwks-uri' ? ['--jwks-uri', '1'] : []),
        ],
        ...(profileDir ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDir] } : {}),
      });
      try {
        const file = join(dir, `${name}.jsonl`);
        prepare(target.info, file);
        const check = await probe(target.info, file);
        const before = cpuSnapshot(target.pid);
        loadStart = process.hrtime.bigint();
        const r = await load({
          url: target.info.url,
          path: target.info.path,
          requestsFile: file,
          connections,
          durationSec,
        });
        loadEnd = process.hrtime.bigint();
        r.serverUsPerRequest = cpuUsPerRequest(before, cpuSnapshot(target.pid), r.requests);
        results[name].push(r);
        console.log(
          `${name} round ${round + 1}: ${r.rps.toFixed(0)} req/s p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms server CPU ${r.serverUsPerRequest} µs/request non-2xx ${r.non2xx} errors ${r.errors} exhausted ${r.exhausted} ${JSON.stringify(check)}`,
        );
      } finally {
        await target.stop();
        const stopped = process.hrtime.bigint();
        if (profileDir) {
          const { printSummary, summarise } = await import('./lib/cpuprofile.mjs');
          const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
          // Only the samples of the measured load (not start-up, set-up, preparation or exit).
          const window =
            loadStart && loadEnd
              ? [Number(stopped - loadStart) / 1000, Number(stopped - loadEnd) / 1000]
              : null;
          if (file) {
            const kept = join(
              import.meta.dirname,
              'results',
              'profiles',
              `${name}-round${round + 1}-${file}`,
            );
            mkdirSync(dirname(kept), { recursive: true });
            copyFileSync(join(profileDir, file), kept);
            console.log(`profile ${kept}`);
            printSummary(summarise(kept, { root: join(import.meta.dirname, '..'), top: 30, window }));
          }
          rmSync(profileDir, { recursive: true, force: true });
        }
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const med = Object.fromEntries(targets.map((t) => [t, median(results[t].map((r) => r.rps))]));
const cpuMed = Object.fromEntries(
  targets.map((t) => [t, median(results[t].map((r) => r.serverUsPerRequest))]),
);
console.log(
  JSON.stringify({ connections, durationSec, rounds, medianRps: med, medianServerUsPerRequest: cpuMed }),
);
/** CPU per request does not depend on how busy the machine is: reference µs / target µs. */
function cpuRatio(a, b) {
  if (cpuMed[a] && cpuMed[b])
    console.log(
      `CPU per request: ${b} ${cpuMed[b]} µs / ${a} ${cpuMed[a]} µs = ${(cpuMed[b] / cpuMed[a]).toFixed(2)}x`,
    );
}
cpuRatio('tessera-oauth', 'oidc-provider-dpop');
cpuRatio('tessera-oauth-base', 'oidc-provider-dpop');
cpuRatio('tessera-oauth', 'tessera-oauth-base');
/** Ratio of medians, and the ratio within each round (paired: same machine state). */
function ratio(a, b) {
  if (!med[a] || !med[b]) return;
  const perRound = results[a].map((r, i) => (results[b][i] ? (r.rps / results[b][i].rps).toFixed(2) : '?'));
  console.log(`${a} / ${b} = ${(med[a] / med[b]).toFixed(2)}x  [per round: ${perRound.join(', ')}]`);
}
ratio('tessera-oauth', 'oidc-provider-dpop');
if (med['tessera-oauth'] && med['oidc-provider-dpop'])
  console.log('(budget: tessera-oauth >= 2x oidc-provider-dpop)');
ratio('tessera-oauth-base', 'oidc-provider-dpop');
ratio('tessera-oauth', 'tessera-oauth-base');
ratio('tessera-oauth-jwks-uri', 'tessera-oauth');
// The floor (bench/targets/oauth-floor.mjs): what the budget asks of any server keeping the RFCs'
// checks and the durable audit, and how far Tessera is from it.
cpuRatio('oauth-floor', 'oidc-provider-dpop');
cpuRatio('tessera-oauth', 'oauth-floor');
ratio('oauth-floor', 'oidc-provider-dpop');
ratio('tessera-oauth', 'oauth-floor');
