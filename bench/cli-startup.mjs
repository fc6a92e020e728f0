// CLI start-up and round trip (issue 10, item 8): wall time of `tessera --help` and of a real
// round trip (`tessera list-items` against a running server, session token from TESSERA_TOKEN),
// 20 runs each, medians; runs of the builds given are interleaved so machine load hits them alike.
//
//   node bench/cli-startup.mjs [--runs 20] [--label NAME=path/to/bin.js | --label NAME=npx ...]
//
// Without --label it measures this checkout's `packages/cli/bin/tessera.js` and `npx tessera`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '20' }, label: { type: 'string', multiple: true } },
});
const runs = Number(values.runs);
const targets = (values.label ?? []).map((l) => {
  const [name, path] = l.split('=');
  return {
    name,
    cmd: path === 'npx' ? ['npx', '--no-install', 'tessera'] : [process.execPath, resolve(path)],
  };
});
const bin = join(root, 'packages/cli/bin/tessera.js');
if (targets.length === 0) {
  targets.push({ name: 'node packages/cli/bin/tessera.js', cmd: [process.execPath, bin] });
  targets.push({ name: 'npx tessera', cmd: ['npx', '--no-install', 'tessera'] });
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-bench-'));
const server = spawn(process.execPath, [bin, 'server', '--port', '0', '--data-dir', join(dir, 'data')], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
const url = await new Promise((ok, fail) => {
  let log = '';
  server.stdout.on('data', (d) => {
    log += d;
    const m = /listening on (http:\/\/\S+)/.exec(log);
    if (m) ok(m[1]);
  });
  server.on('exit', () => fail(new Error(`server exited:\n${log}`)));
});
try {
  const admin = JSON.parse(readFileSync(join(dir, 'data/admin.json'), 'utf8'));
  const env = { ...process.env, TESSERA_URL: url, TESSERA_CONFIG_DIR: join(dir, 'config') };
  const auth = execFileSync(
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
    { env, encoding: 'utf8' },
  );
  env.TESSERA_TOKEN = JSON.parse(auth).token;
  execFileSync(process.execPath, [bin, 'create-secret', '--name', '/bench/a', '--value', 'v'], { env });

  const cases = [
    ['--help', ['--help']],
    ['list-items (round trip)', ['list-items', '--path', '/bench']],
  ];
  // CPU (user + system) of the children, from /proc/self/stat (clock ticks of 10 ms): steadier than
  // wall time on a loaded machine.
  const childCpuMs = () => {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(f[13]) + Number(f[14])) * 10;
  };
  const times = new Map();
  const cpu = new Map();
  for (let i = 0; i < runs; i++) {
    for (const t of targets) {
      for (const [name, args] of cases) {
        const c0 = childCpuMs();
        const t0 = performance.now();
        const r = spawnSync(t.cmd[0], [...t.cmd.slice(1), ...args], { env, stdio: 'ignore' });
        const ms = performance.now() - t0;
        const cpuMs = childCpuMs() - c0;
        if (r.status !== 0) throw new Error(`${t.name} ${args.join(' ')} exited ${r.status}`);
        const key = `${t.name} | ${name}`;
        times.set(key, [...(times.get(key) ?? []), ms]);
        cpu.set(key, [...(cpu.get(key) ?? []), cpuMs]);
      }
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`load average after the runs: ${load}`);
  console.log(`| build | command | wall, median of ${runs} | wall min | CPU (user+sys), median |`);
  console.log('|---|---|---:|---:|---:|');
  for (const [key, xs] of times) {
    const [build, command] = key.split(' | ');
    console.log(
      `| ${build} | ${command} | ${median(xs).toFixed(0)} ms | ${Math.min(...xs).toFixed(0)} ms | ${median(cpu.get(key)).toFixed(0)} ms |`,
    );
  }
} finally {
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
