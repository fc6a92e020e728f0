// Runs autocannon with one prepared request per line of a JSONL file ({body, headers}), each used
// once (single-use assertions and DPoP proofs), and prints one JSON line.
// Usage: node bench/lib/autocannon-requests-worker.mjs '<json config>'
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const cfg = JSON.parse(process.argv[2]);
const prepared = readFileSync(cfg.requestsFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line));
// The first line was spent by the target's probe.
let next = 1;
let exhausted = 0;
const result = await autocannon({
  url: `${cfg.url}${cfg.path}`,
  connections: cfg.connections,
  duration: cfg.durationSec,
  timeout: 10,
  method: 'POST',
  requests: [
    {
      method: 'POST',
      setupRequest: (req) => {
        if (next >= prepared.length) exhausted++;
        const r = prepared[next++ % prepared.length];
        return { ...req, body: r.body, headers: { ...req.headers, ...r.headers } };
      },
    },
  ],
});
const total = result.requests.total;
process.stdout.write(
  `${JSON.stringify({
    tool: 'autocannon',
    requests: total,
    durationSec: result.duration,
    rps: total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    exhausted,
  })}\n`,
);
