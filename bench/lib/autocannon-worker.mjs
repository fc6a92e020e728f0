// Runs autocannon in its own process (so it can be pinned to its own core) and prints one JSON line.
// Usage: node bench/lib/autocannon-worker.mjs '<json config>'
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const cfg = JSON.parse(process.argv[2]);
const bodies = cfg.bodiesFile ? readFileSync(cfg.bodiesFile, 'utf8').split('\n').filter(Boolean) : null;
let next = 0;
const result = await autocannon({
  url: `${cfg.url}${cfg.path}`,
  connections: cfg.connections,
  duration: cfg.durationSec,
  timeout: 10,
  method: cfg.method ?? 'POST',
  headers: { 'content-type': cfg.contentType ?? 'application/json', ...cfg.headers },
  ...(bodies
    ? {
        requests: [
          {
            method: cfg.method ?? 'POST',
            setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }),
          },
        ],
      }
    : cfg.method === 'GET'
      ? {}
      : { body: cfg.body }),
});
const total = result.requests.total;
process.stdout.write(
  `${JSON.stringify({
    tool: 'autocannon',
    requests: total,
    durationSec: result.duration,
    rps: total / result.duration,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  })}\n`,
);
