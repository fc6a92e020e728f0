// Issue 15 / ADR 0017: the MCP gateway's added latency per `tools/call`. The same upstream (official
// SDK, Streamable HTTP, its own process) is called by the official SDK client directly and through
// Tessera's /mcp/NAME, interleaved in one run, one call in flight; then throughput at --concurrency
// calls in flight, both ways. The gateway's policy has an argument condition, a rate rule and a
// sequence rule active on every call. DESIGN §5 budget: ≤ 1 ms median added.
// Usage: npm run build && node bench/mcp-gateway.mjs [--calls 2000] [--concurrency 16] [--seconds 5]
//        [--profile]  (the gateway process runs under `node --cpu-prof`; its top functions are printed)
//        [--base-dist DIR]  also run `base`, the same gateway loaded from another server build (e.g.
//        main's packages/server/dist copied aside), interleaved with the others: before/after in one run.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
const baseDist = args['base-dist'] ? resolve(String(args['base-dist'])) : null;

function child(script, extra = [], nodeArgs = [], env = {}) {
  const p = spawn(process.execPath, [...nodeArgs, join(here, script), ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
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
// The same target from the other build, on its own port and data directory.
const base = baseDist
  ? await child(
      'targets/tessera-mcp.mjs',
      ['--upstream', upstream.info.url, '--port', String(gatewayPort + 100)],
      [],
      { TESSERA_BENCH_SERVER_DIST: baseDist },
    )
  : null;
/** CPU time (user + system) a process has used so far, in ms (Linux /proc; 10 ms ticks). */
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const { endpoint, token } = target.info;
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
const baseClient = base
  ? await connect(base.info.endpoint, { authorization: `Bearer ${base.info.token}` })
  : null;
/** The gateways measured: this build, and `base` with --base-dist. */
const gateways = [
  { label: 'gateway', client: gateway, target, times: [] },
  ...(base ? [{ label: 'base', client: baseClient, target: base, times: [] }] : []),
];
const params = (i) => ({ name: 'echo', arguments: { text: `hello ${i}`, n: i } });
// The sequence rule is evaluated on every call (this session never read a report, so echo passes).
for (const gw of gateways) {
  const check = await gw.client.callTool(params(0));
  if (check.isError || check.content[0].text !== 'hello 0') throw new Error(JSON.stringify(check));
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
async function one(c, i) {
  const t0 = performance.now();
  await c.callTool(params(i));
  return performance.now() - t0;
}
// Warm-up, then interleaved: direct, gateway(, base), direct… so all see the same machine.
for (let i = 0; i < 300; i++) {
  await one(direct, i);
  for (const gw of gateways) await one(gw.client, i);
}
const d = [];
const cpu0 = {
  upstream: cpuMs(upstream.process.pid),
  ...Object.fromEntries(gateways.map((gw) => [gw.label, cpuMs(gw.target.process.pid)])),
};
for (let i = 0; i < CALLS; i++) {
  d.push(await one(direct, i));
  for (const gw of gateways) gw.times.push(await one(gw.client, i));
}
const cpu = Object.fromEntries(
  Object.entries(cpu0).map(([k, v]) => [
    k,
    cpuMs((k === 'upstream' ? upstream : gateways.find((gw) => gw.label === k).target).process.pid) - v,
  ]),
);
const ms = (x) => `${x.toFixed(3)} ms`;
console.log(`\ntools/call latency, 1 in flight, ${CALLS} calls each, interleaved:`);
console.log(`  direct   median ${ms(pct(d, 50))}  p99 ${ms(pct(d, 99))}`);
for (const { label, times: g } of gateways) {
  console.log(`  ${label.padEnd(8)} median ${ms(pct(g, 50))}  p99 ${ms(pct(g, 99))}`);
  const added = g.map((x, i) => x - d[i]);
  console.log(
    `    added (pairwise) median ${ms(pct(added, 50))}  p99 ${ms(pct(added, 99))}  (median ${label} − median direct ${ms(pct(g, 50) - pct(d, 50))}; budget ≤ 1 ms)`,
  );
}

// Where the gateway's time goes: each audited call records its total time in the service's
// callTool and the upstream round trip inside it; the difference is the gateway's own work
// (catalogue, roles, policy and its state, credential). The rest of the added latency is the
// door (token, JSON-RPC) and the second HTTP hop.
await new Promise((r) => setTimeout(r, 200));
for (const { label, target: t } of gateways) {
  const events = (
    await (
      await fetch(`${t.info.issuer}/v1/audit/events?type=mcp.tool_called&limit=500`, {
        headers: { authorization: `Bearer ${t.info.adminToken}` },
      })
    ).json()
  ).items.filter((e) => e.data?.upstreamMs !== undefined);
  const own = events.map((e) => e.data.latencyMs - e.data.upstreamMs);
  const up = events.map((e) => e.data.upstreamMs);
  console.log(
    `  inside ${label} (last ${events.length} audited calls): own work median ${ms(pct(own, 50))} p99 ${ms(pct(own, 99))}; upstream round trip median ${ms(pct(up, 50))}`,
  );
}

// CPU per call is less sensitive to the machine's load than wall-clock latency: the upstream
// served (1 + gateways) × CALLS calls, each gateway process CALLS.
const upstreamPerCall = cpu.upstream / ((1 + gateways.length) * CALLS);
for (const { label } of gateways)
  console.log(
    `  CPU per call: ${label} process ${ms(cpu[label] / CALLS)}, upstream process ${ms(upstreamPerCall)} (${label}/upstream ${(cpu[label] / CALLS / upstreamPerCall).toFixed(2)})`,
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
for (const gw of gateways) gw.rate = await throughput(gw.client, gw.label);
for (const gw of gateways) console.log(`  ${gw.label}/direct ${(gw.rate / td).toFixed(2)}`);

await direct.close();
for (const gw of gateways) await gw.client.close();
if (base) {
  base.process.removeAllListeners('exit');
  base.process.kill('SIGTERM');
}
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
