// Load generators: wrk (apt-get install -y wrk) when present, else autocannon (npm devDependency).
// Either one runs pinned to its own core with `taskset`, and reports the same shape:
// { tool, requests, durationSec, rps, p50Ms, p90Ms, p99Ms, maxMs, non2xx, errors }.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export function pickLoadgen(requested = 'auto') {
  if (requested === 'wrk' || requested === 'autocannon') return requested;
  return hasCommand('wrk') ? 'wrk' : 'autocannon';
}

/** `taskset -c <core>` prefix, or nothing where taskset is missing. */
export function pinned(core, argv) {
  return core !== null && core !== undefined && hasCommand('taskset')
    ? ['taskset', '-c', String(core), ...argv]
    : argv;
}

function run(argv, { timeoutMs }) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${argv.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      else resolve(out);
    });
  });
}

const luaString = (s) => `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

function wrkScript(cfg) {
  const extra = Object.entries(cfg.headers ?? {})
    .map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}\n`)
    .join('');
  const head = `local path = ${luaString(cfg.path)}\nlocal headers = { ["Content-Type"] = ${luaString(cfg.contentType ?? 'application/json')} }\n${extra}`;
  if (cfg.method === 'GET') return `${head}wrk.method = "GET"\nwrk.path = path\n${wrkDone}`;
  const feed = cfg.bodiesFile
    ? `local bodies = {}
local idx = 0
for line in io.lines(${luaString(cfg.bodiesFile)}) do
  if #line > 0 then bodies[#bodies + 1] = line end
end
request = function()
  idx = idx % #bodies + 1
  return wrk.format("POST", path, headers, bodies[idx])
end
`
    : `wrk.method = "POST"
wrk.path = path
wrk.headers["Content-Type"] = headers["Content-Type"]
wrk.body = ${luaString(cfg.body)}
`;
  return head + feed + wrkDone;
}

const wrkDone = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;

/**
 * Runs one load phase. cfg: { url, path, contentType, body | bodiesFile, connections, durationSec, core, tool,
 * method ('POST' default, or 'GET': no body), headers (extra request headers, e.g. authorization) }.
 */
export async function runLoad(cfg) {
  const tool = pickLoadgen(cfg.tool);
  const timeoutMs = (cfg.durationSec + 30) * 1000;
  if (tool === 'wrk') {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-wrk-'));
    try {
      const script = join(dir, 'load.lua');
      writeFileSync(script, wrkScript(cfg));
      const argv = pinned(cfg.core, [
        'wrk',
        '-t1',
        `-c${cfg.connections}`,
        `-d${cfg.durationSec}s`,
        '--timeout',
        '10s',
        '-s',
        script,
        `${cfg.url}${cfg.path}`,
      ]);
      const out = await run(argv, { timeoutMs });
      const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
      if (!line) throw new Error(`wrk printed no summary:\n${out}`);
      const w = JSON.parse(line.slice('WRKJSON '.length));
      const durationSec = w.durationUs / 1e6;
      return {
        tool,
        requests: w.requests,
        durationSec,
        rps: w.requests / durationSec,
        p50Ms: w.p50Us / 1000,
        p90Ms: w.p90Us / 1000,
        p99Ms: w.p99Us / 1000,
        maxMs: w.maxUs / 1000,
        non2xx: w.status,
        errors: w.connect + w.read + w.write + w.timeout,
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const worker = join(here, 'autocannon-worker.mjs');
  const argv = pinned(cfg.core, [process.execPath, worker, JSON.stringify(cfg)]);
  const out = await run(argv, { timeoutMs });
  return JSON.parse(out.trim().split('\n').pop());
}
