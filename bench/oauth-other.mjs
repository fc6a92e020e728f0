// Issue 12: introspection (RFC 7662) and token exchange (RFC 8693) throughput of Tessera's OAuth
// door, durable audit on. Both use client_secret_basic (no single-use value, so one request body
// serves the whole run); the exchange writes an audit event per token, introspection none.
// Flags: --duration 10 --connections 50 --server-core 0 --load-core 1

import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from './lib/args.mjs';
import { runLoad } from './lib/loadgen.mjs';
import { startTarget } from './lib/targets.mjs';

const args = parseArgs();
const durationSec = Number(args.duration ?? 10);
const connections = Number(args.connections ?? 50);
const { publicKey } = generateKeyPairSync('ed25519');
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'unused', alg: 'EdDSA' };
const target = await startTarget('tessera-oauth', {
  core: args['server-core'] ?? '0',
  args: ['--client-jwk', JSON.stringify(jwk)],
});
try {
  for (const mode of ['introspect', 'exchange']) {
    const m = target.info[mode];
    const probe = await fetch(`${target.info.url}${m.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: m.authorization },
      body: m.body,
    });
    const answer = await probe.json();
    if (probe.status !== 200 || (mode === 'introspect' ? answer.active !== true : !answer.access_token))
      throw new Error(`${mode} probe failed: ${probe.status} ${JSON.stringify(answer)}`);
    const r = await runLoad({
      tool: 'autocannon',
      url: target.info.url,
      path: m.path,
      contentType: 'application/x-www-form-urlencoded',
      headers: { authorization: m.authorization },
      body: m.body,
      connections,
      durationSec,
      core: args['load-core'] ?? '1',
    });
    console.log(
      `${mode}: ${r.rps.toFixed(0)} req/s p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms non-2xx ${r.non2xx} errors ${r.errors}`,
    );
  }
} finally {
  await target.stop();
}
