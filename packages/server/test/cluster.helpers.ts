import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Real processes for the cluster and fault tests (issue 19): `tessera server` processes built from
 * `packages/cli/dist`, HAProxy in front of them, and a private PostgreSQL cluster that a test may
 * stop and restart (never the shared server on 5432).
 */
export const bin = resolve(__dirname, '../../cli/dist/bin.js');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/** Polls `condition` every 20 ms; returns the milliseconds it took, or throws after `limitMs`. */
export async function until(limitMs: number, condition: () => Promise<boolean> | boolean): Promise<number> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await sleep(20);
  }
  return performance.now() - started;
}

export interface Node {
  name: string;
  port: number;
  url: string;
  dataDir: string;
  child: ChildProcess;
  log(): string;
  /** SIGTERM (graceful) and wait for the exit. */
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** `tessera server` on a free port, once `/healthz` answers. */
export async function startNode(
  name: string,
  dataDir: string,
  env: Record<string, string>,
  port?: number,
): Promise<Node> {
  const p = port ?? (await freePort());
  const child = spawn(
    process.execPath,
    [bin, 'server', '--port', String(p), '--data-dir', dataDir, '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let log = '';
  child.stdout!.on('data', (d) => {
    log = (log + d).slice(-20_000);
  });
  child.stderr!.on('data', (d) => {
    log = (log + d).slice(-20_000);
  });
  const url = `http://127.0.0.1:${p}`;
  const deadline = performance.now() + 60_000; // a loaded CI machine starts slowly
  for (;;) {
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (performance.now() > deadline || child.exitCode !== null)
      throw new Error(`${name} did not start (exit ${child.exitCode}):\n${log}`);
    await sleep(25);
  }
  const exit = () =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => child.once('exit', () => r()));
  return {
    name,
    port: p,
    url,
    dataDir,
    child,
    log: () => log,
    async stop() {
      const done = exit();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await done;
    },
    async kill() {
      const done = exit();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await done;
    },
  };
}

/** A JSON request; network failures come back as status 0. */
export async function call(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<{ status: number; body: any; headers: Headers | null }> {
  try {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
    const text = await r.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {}
    return { status: r.status, body, headers: r.headers };
  } catch (error) {
    return {
      status: 0,
      body: `${String(error)} ${String((error as { cause?: unknown }).cause ?? '')}`,
      headers: null,
    };
  }
}

const deployDir = resolve(__dirname, '../../../docs/deploy');

/** docs/deploy/haproxy.cfg as shipped, with its addresses and error file pointed at this test. */
export function haproxyConfig(listenPort: number, nodes: { name: string; port: number }[], errorDir: string) {
  const shipped = readFileSync(join(deployDir, 'haproxy.cfg'), 'utf8');
  const servers = nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.port} check`).join('\n');
  const out = shipped
    .replace(/^ {2}bind :8377$/m, `  bind 127.0.0.1:${listenPort}`)
    .replaceAll('/etc/haproxy/errors/', `${errorDir}/`)
    .replace(/(^ {2}server .*\n?)+/m, `${servers}\n`);
  if (out === shipped || !out.includes(servers)) throw new Error('docs/deploy/haproxy.cfg changed shape');
  return out;
}

export interface Balancer {
  url: string;
  log(): string;
  stop(): Promise<void>;
}

/** HAProxy in the foreground (`-db`) on a free port. */
export async function startHaproxy(dir: string, nodes: { name: string; port: number }[]): Promise<Balancer> {
  const port = await freePort();
  copyFileSync(join(deployDir, 'tessera-503.http'), join(dir, 'tessera-503.http'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(port, nodes, dir));
  execFileSync(haproxyBin(), ['-c', '-q', '-f', cfg]);
  const child = spawn(haproxyBin(), ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => {
    log = (log + d).slice(-10_000);
  });
  const url = `http://127.0.0.1:${port}`;
  await until(10_000, async () => (await call(url, 'GET', '/healthz')).status === 200).catch(() => {
    throw new Error(`haproxy did not start:\n${log}`);
  });
  return {
    url,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

export function haproxyBin(): string {
  for (const p of ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy'])
    if (existsSync(p)) return p;
  throw new Error('haproxy is not installed (apt-get install haproxy)');
}

function pgBinDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'pg_ctl'))) return join(base, v, 'bin');
  throw new Error('PostgreSQL server binaries (initdb, pg_ctl) are not installed');
}

export interface OwnPostgres {
  url: string;
  port: number;
  /** Stops the server (fast shutdown: connections are terminated, like a crash for clients). */
  stop(): void;
  start(): void;
  destroy(): void;
}

/**
 * A private PostgreSQL cluster in a temporary directory on a free port, trust auth, database
 * `tessera`. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bindir = pgBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(sock);
  chmodSync(sock, 0o777);
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(bindir, cmd), ...args], { stdio: 'pipe' })
      : execFileSync(join(bindir, cmd), args, { stdio: 'pipe' });
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const opts = `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = () =>
    run('pg_ctl', ['-D', data, '-o', opts, '-w', '-t', '30', '-l', join(dir, 'log'), 'start']);
  start();
  run('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'tessera']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/tessera`,
    port,
    stop: () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    start,
    destroy() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
