// Issue 15 / ADR 0017: the MCP gateway's added latency per `tools/call`. The same upstream (official
// SDK, Streamable HTTP, its own process) is called by the official SDK client directly and through
// Tessera's /mcp/NAME, interleaved in one run, one call in flight; then throughput at --concurrency
// calls in flight, both ways. The gateway's policy has an argument condition, a rate rule and a
// sequence rule active on every call. DESIGN §5 budget: ≤ 1 ms median added.
// Usage: npm run build && node bench/mcp-gateway.mjs [--calls 2000] [--concurrency 16] [--seconds 5]
//        [--profile]  (the gateway process runs under `node --cpu-prof`; its top functions are printed)
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { isolatingFetch } from '../packages/server/dist/capabilities/mcp/mcp.upstream.js';
import { parseArgs } from './lib/args.mjs';
import { summarise } from './lib/cpuprofile.mjs';

const args = parseArgs();
const CALLS = Number(args.calls ?? 2000);
const CONCURRENCY = Number(args.concurrency ?? 16);
const SECONDS = Number(args.seconds ?? 5);
const here = import.meta.dirname;

function child(script, extra = [], nodeArgs = []) {
  const p = spawn(process.execPath, [...nodeArgs, join(here, script), ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    p.stdout.on('data', (d) => {
      buf += d;
      const m = /READY (.*)\n/.exec(buf);
      if (m) resolve({ process: p, info: JSON.parse(m[1]) });
    });
    p.on('exit', (code) => reject(new Error(`${script} exited ${code}`)));
  });
}

if (!args['no-calibrate']) {
  console.log('calibration (same run):');
  await new Promise((resolve) => {
    const c = spawn(process.execPath, [join(here, 'calibrate.mjs')], { stdio: 'inherit' });
    c.on('exit', resolve);
  });
}

const upstream = await child('lib/mcp-upstream.mjs', ['--port', '0']);
// Tessera runs in its own process, as in production: its off-path work (the audit commit) is not
// charged to the next direct call of this process.
const gatewayPort = 9230 + Math.floor(Math.random() * 50);
const profDir = join(here, 'results', 'profiles');
const profName = `mcp-gateway-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`;
if (args.profile) mkdirSync(profDir, { recursive: true });
const target = await child(
  'targets/tessera-mcp.mjs',
  ['--upstream', upstream.info.url, '--port', String(gatewayPort)],
  args.profile ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', profName] : [],
);
/** CPU time (user + system) a process has used so far, in ms (Linux /proc; 10 ms ticks). */
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const { endpoint, token, adminToken, issuer } = target.info;
async function connect(url, headers = {}) {
  const c = new Client({ name: 'bench-agent', version: '1' });
  // The agents use the gateway's per-request signal too: the SDK transport's shared one gathers an
  // abort listener per call (ADR 0017), on either path.
  await c.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers }, fetch: isolatingFetch }),
  );
  return c;
}
const direct = await connect(upstream.info.url);
const gateway = await connect(endpoint, { authorization: `Bearer ${token}` });
const params = (i) => ({ name: 'echo', arguments: { text: `hello ${i}`, n: i } });
// The sequence rule is evaluated on every call (this session never read a report, so echo passes).
const check = await gateway.callTool(params(0));
if (check.isError || check.content[0].text !== 'hello 0') throw new Error(JSON.stringify(check));

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
async function one(c, i) {
  const t0 = performance.now();
  await c.callTool(params(i));
  return performance.now() - t0;
}
// Warm-up, then interleaved: direct, gateway, direct, gateway… so both see the same machine.
for (let i = 0; i < 300; i++) {
  await one(direct, i);
  await one(gateway, i);
}
const d = [];
const g = [];
const cpu0 = { gateway: cpuMs(target.process.pid), upstream: cpuMs(upstream.process.pid) };
for (let i = 0; i < CALLS; i++) {
  d.push(await one(direct, i));
  g.push(await one(gateway, i));
}
const cpu = {
  gateway: cpuMs(target.process.pid) - cpu0.gateway,
  upstream: cpuMs(upstream.process.pid) - cpu0.upstream,
};
const ms = (x) => `${x.toFixed(3)} ms`;
console.log(`\ntools/call latency, 1 in flight, ${CALLS} calls each, interleaved:`);
console.log(`  direct   median ${ms(pct(d, 50))}  p99 ${ms(pct(d, 99))}`);
console.log(`  gateway  median ${ms(pct(g, 50))}  p99 ${ms(pct(g, 99))}`);
const added = g.map((x, i) => x - d[i]);
console.log(
  `  added (pairwise) median ${ms(pct(added, 50))}  p99 ${ms(pct(added, 99))}  (median gateway − median direct ${ms(pct(g, 50) - pct(d, 50))}; budget ≤ 1 ms)`,
);

// Where the gateway's time goes: each audited call records its total time at the door's handler
// and the upstream round trip inside it; the difference is the gateway's own work (token, roles,
// policy, catalogue, credential). The rest of the added latency is the second HTTP hop.
await new Promise((r) => setTimeout(r, 200));
const events = (
  await (
    await fetch(`${issuer}/v1/audit/events?type=mcp.tool_called&limit=500`, {
      headers: { authorization: `Bearer ${adminToken}` },
    })
  ).json()
).items.filter((e) => e.data?.upstreamMs !== undefined);
const own = events.map((e) => e.data.latencyMs - e.data.upstreamMs);
const up = events.map((e) => e.data.upstreamMs);
console.log(
  `  inside the gateway (last ${events.length} audited calls): own work median ${ms(pct(own, 50))} p99 ${ms(pct(own, 99))}; upstream round trip median ${ms(pct(up, 50))}`,
);

// CPU per call is less sensitive to the machine's load than wall-clock latency: the upstream
// served 2 × CALLS calls (direct and gateway), the gateway process CALLS.
console.log(
  `  CPU per call: gateway process ${ms(cpu.gateway / CALLS)}, upstream process ${ms(cpu.upstream / (2 * CALLS))} (gateway/upstream ${(cpu.gateway / CALLS / (cpu.upstream / (2 * CALLS))).toFixed(2)})`,
);

async function throughput(c, label) {
  let n = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) await c.callTool(params(n++));
    }),
  );
  const rate = n / SECONDS;
  console.log(`  ${label.padEnd(8)} ${rate.toFixed(0)} calls/s`);
  return rate;
}
console.log(
  `\nthroughput, ${CONCURRENCY} in flight, ${SECONDS} s each (argument, rate and sequence rules active):`,
);
const td = await throughput(direct, 'direct');
const tg = await throughput(gateway, 'gateway');
console.log(`  gateway/direct ${(tg / td).toFixed(2)}`);

await direct.close();
await gateway.close();
target.process.removeAllListeners('exit');
const stopped = new Promise((resolve) => target.process.once('exit', resolve));
target.process.kill('SIGTERM');
upstream.process.kill('SIGTERM');
if (args.profile) {
  await stopped;
  const s = summarise(join(profDir, profName), { root: join(here, '..'), top: 30 });
  console.log(`\nprofile of the gateway process (whole run) ${join(profDir, profName)}`);
  for (const p of s.packages) console.log(`  ${String(p.pct).padStart(5)}%  ${p.name}`);
  console.log('top self-time functions:');
  for (const f of s.functions) console.log(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
  console.log('inclusive, Tessera functions:');
  for (const f of s.tesseraInclusive) console.log(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
}
process.exit(0);
