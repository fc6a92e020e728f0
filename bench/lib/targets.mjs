// Starting and stopping bench targets: each is `node bench/targets/<name>.mjs --port N …`, pinned to
// a core, and prints `READY {json}` once it serves.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinned } from './loadgen.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const TARGETS_DIR = join(here, '..', 'targets');

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a target and resolves once it printed its READY line. */
export async function startTarget(
  name,
  { core = null, args = [], nodeArgs = [], env = {}, readyTimeoutMs = 120_000 } = {},
) {
  const port = await freePort();
  const argv = pinned(core, [
    process.execPath,
    ...nodeArgs,
    join(TARGETS_DIR, `${name}.mjs`),
    '--port',
    String(port),
    ...args,
  ]);
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let log = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const info = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`${name} not ready after ${readyTimeoutMs} ms:\n${log.slice(-3000)}`)),
      readyTimeoutMs,
    );
    child.stdout.on('data', (d) => {
      buf += d;
      log += d;
      const line = buf.split('\n').find((l) => l.startsWith('READY '));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice('READY '.length)));
      }
    });
    child.stderr.on('data', (d) => {
      log += d;
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${log.slice(-3000)}`));
    });
  });
  return {
    name,
    info,
    pid: child.pid,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
