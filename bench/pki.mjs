// Issue 13: certificate issuance per second (POST /v1/pki/issue/:profile: CSR parse and signature
// check, ECDSA P-256 signing by the CA, durable insert + audit) against UID token → session
// (POST /v1/auth) on the same server in the same run, as the ratio to report; and OCSP answers
// (GET /pki/ocsp/<request>, ADR 0026) in the same run; and issuance with a key the server makes
// (generateKey, ADR 0035).
// Flags: --duration 10 --warmup 3 --connections 20 --server-core 0 --load-core 1 [--store postgres://…]
import { parseArgs } from './lib/args.mjs';
import { runLoad } from './lib/loadgen.mjs';
import { startTarget } from './lib/targets.mjs';

const args = parseArgs();
const durationSec = Number(args.duration ?? 10);
const connections = Number(args.connections ?? 20);
const target = await startTarget('tessera-pki', {
  core: args['server-core'] ?? '0',
  args: args.store ? ['--store', args.store] : [],
});
const results = {};
const warmupSec = Number(args.warmup ?? 3);
try {
  const modes = [
    [
      'certificate issuance',
      '/v1/pki/issue/bench',
      target.info.issueBody,
      { authorization: `Bearer ${target.info.adminToken}` },
    ],
    // ADR 0035: a P-256 key pair made on the server and returned once, instead of a CSR.
    [
      'issuance with a server-made key',
      '/v1/pki/issue/bench',
      target.info.generateKeyBody,
      { authorization: `Bearer ${target.info.adminToken}` },
    ],
    ['UID token → session', '/v1/auth', target.info.uidBody, {}],
    // ADR 0026: each answer is a store read and a fresh ECDSA signature (no durable write).
    ['OCSP answer (GET)', target.info.ocspPath, undefined, {}, 'GET'],
  ];
  // Unmeasured warm-up of every mode first: whichever ran first used to pay for JIT and caches
  // (the same issuance measured 0.6× or 1.7× the other depending on the order).
  const load = (path, body, headers, method, durationSec) =>
    runLoad({
      tool: 'autocannon',
      url: target.info.url,
      path,
      contentType: 'application/json',
      body,
      headers,
      ...(method ? { method } : {}),
      connections,
      durationSec,
      core: args['load-core'] ?? '1',
    });
  for (const [, path, body, headers, method] of modes)
    if (warmupSec > 0) await load(path, body, headers, method, warmupSec);
  for (const [mode, path, body, headers, method] of modes) {
    const r = await load(path, body, headers, method, durationSec);
    results[mode] = r.rps;
    console.log(
      `${mode}: ${r.rps.toFixed(0)} req/s p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms non-2xx ${r.non2xx} errors ${r.errors}`,
    );
  }
  console.log(
    `ratio issuance / UID auth: ${(results['certificate issuance'] / results['UID token → session']).toFixed(2)}`,
  );
  console.log(
    `ratio server-made key / CSR issuance: ${(results['issuance with a server-made key'] / results['certificate issuance']).toFixed(2)}`,
  );
  console.log(
    `ratio OCSP answer / UID auth: ${(results['OCSP answer (GET)'] / results['UID token → session']).toFixed(2)}`,
  );
} finally {
  await target.stop();
}
