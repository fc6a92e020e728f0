import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Helpers for the CLI's end-to-end tests: a real server process and the built `tessera` binary. */
export const root = resolve(__dirname, '../../..');
export const bin = join(root, 'packages/cli/bin/tessera.js');

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

/** Runs a command to completion; never rejects. */
export function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(cmd, args, { env, timeout: timeoutMs }, (error, stdout, stderr) => {
      ok({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const fetchHealthy = (url: string) => () =>
  fetch(`${url}/healthz`).then(
    (r) => r.ok,
    () => false,
  );
/** `/healthz` over HTTPS, trusting the server's own (self-signed) certificate. */
const httpsHealthy = (url: string, ca: string) => () =>
  new Promise<boolean>((ok) => {
    const req = httpsGet(`${url}/healthz`, { ca, agent: false }, (res) => {
      res.resume();
      ok(res.statusCode === 200);
    });
    req.on('error', () => ok(false));
  });

/** `tessera server` on a free port and `dataDir`, once `/healthz` answers. */
export async function startServerProcess(
  dataDir: string,
  /** How long to wait for `/healthz` (the shared test machine can be slow). */
  startTimeoutMs = 10_000,
  /** Serve HTTPS with this certificate and key (PEM files); the URL is then https://. */
  tls?: { cert: string; key: string },
): Promise<{ server: ChildProcess; url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const server = spawn(
    process.execPath,
    [
      ...[bin, 'server', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'],
      ...(tls ? ['--tls-cert', tls.cert, '--tls-key', tls.key] : []),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  server.stdout!.on('data', (d) => {
    log += d;
  });
  server.stderr!.on('data', (d) => {
    log += d;
  });
  const healthy = tls ? httpsHealthy(url, readFileSync(tls.cert, 'utf8')) : fetchHealthy(url);
  for (let i = 0; ; i++) {
    const ok = await healthy();
    if (ok) break;
    // A loaded CI machine can take many seconds to start a server; stop waiting if it exited.
    if (i > Math.max(startTimeoutMs, 60_000) / 50 || server.exitCode !== null)
      throw new Error(`server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    server,
    url,
    async stop() {
      if (server.exitCode !== null) return;
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A server process on a fresh data directory, with its administrator configured in a CLI profile:
 * `env` runs `tessera` commands as the administrator; `close` stops the server and removes it all.
 */
export async function startConfiguredServer(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const started = await startServerProcess(join(dir, 'data'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TESSERA_URL: started.url,
    TESSERA_CONFIG_DIR: join(dir, 'config'),
    HOME: dir,
  };
  delete env.TESSERA_TOKEN;
  delete env.TESSERA_PROFILE;
  const admin = JSON.parse(readFileSync(join(dir, 'data/admin.json'), 'utf8'));
  const configured = await run(
    process.execPath,
    [bin, 'configure', '--access-id', admin.accessId, '--access-key', admin.accessKey],
    env,
    60_000,
  );
  if (configured.code !== 0) throw new Error(`configure failed: ${configured.stderr}`);
  return {
    dir,
    env,
    url: started.url,
    async close() {
      await started.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
