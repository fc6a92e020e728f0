// Issue 13: POST /v1/auth throughput with a federated workload JWT (oidc_federation: RS256
// signature, bound claims, identity mapping) against a UID token, same server, same run, durable
// audit on. The issuer's JWKS is cached after the first request, so no fetch is measured.
// Flags: --duration 10 --connections 50 --server-core 0 --load-core 1 [--store postgres://…]
import { parseArgs } from './lib/args.mjs';
import { runLoad } from './lib/loadgen.mjs';
import { startTarget } from './lib/targets.mjs';

const args = parseArgs();
const durationSec = Number(args.duration ?? 10);
const connections = Number(args.connections ?? 50);
const target = await startTarget('tessera-federation', {
  core: args['server-core'] ?? '0',
  args: args.store ? ['--store', args.store] : [],
});
try {
  for (const [mode, body] of [
    ['federated JWT', target.info.federatedBody],
    ['UID token', target.info.uidBody],
  ]) {
    const r = await runLoad({
      tool: 'autocannon',
      url: target.info.url,
      path: '/v1/auth',
      contentType: 'application/json',
      body,
      connections,
      durationSec,
      core: args['load-core'] ?? '1',
    });
    console.log(
      `${mode} → session: ${r.rps.toFixed(0)} req/s p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms non-2xx ${r.non2xx} errors ${r.errors}`,
    );
  }
} finally {
  await target.stop();
}
