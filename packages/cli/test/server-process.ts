import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { freePort } from '../../server/test/cluster.helpers.js';

/** Helpers for the CLI's end-to-end tests: a real server process and the built `tessera` binary. */
export const root = resolve(__dirname, '../../..');
export const bin = join(root, 'packages/cli/bin/tessera.js');

export { freePort };

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

export interface ServerProcessOptions {
  /** How long to wait for `/healthz` (the shared test machine can be slow; never less than 60 s). */
  startTimeoutMs?: number;
  /** Serve HTTPS with this certificate and key (PEM files); the URL is then https://. */
  tls?: { cert: string; key: string };
  /** Listen here rather than on a free port (a restart on the same address). */
  port?: number;
  /** The server's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export interface ServerProcess {
  server: ChildProcess;
  url: string;
  /** SIGTERM, then waits for the exit; nothing if the server has exited already. */
  stop(): Promise<void>;
}

/** `tessera server` on a free port (or `port`) and `dataDir`, once `/healthz` answers. */
export async function startServerProcess(
  dataDir: string,
  { startTimeoutMs = 10_000, tls, port: fixedPort, env }: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const port = fixedPort ?? (await freePort());
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const server = spawn(
    process.execPath,
    [
      ...[bin, 'server', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'],
      ...(tls ? ['--tls-cert', tls.cert, '--tls-key', tls.key] : []),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(env ? { env } : {}),
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
    if (i > Math.max(startTimeoutMs, 60_000) / 50 || server.exitCode !== null) {
      server.kill('SIGKILL');
      throw new Error(`server did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { server, url, stop: () => stopServerProcess(server) };
}

/** SIGTERM to a server process, then waits for its exit; nothing if it has exited already. */
export async function stopServerProcess(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  await exited;
}

/**
 * The environment `tessera` commands run in against `url`: HOME in `dir`, the CLI profile in
 * `configDir`, and no TESSERA_TOKEN or TESSERA_PROFILE of the caller's.
 */
export function cliEnv(dir: string, url: string, configDir = join(dir, 'config')): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TESSERA_URL: url,
    TESSERA_CONFIG_DIR: configDir,
    HOME: dir,
  };
  delete env.TESSERA_TOKEN;
  delete env.TESSERA_PROFILE;
  return env;
}

export interface AdminKey {
  accessId: string;
  accessKey: string;
}

/** The bootstrap administrator's access key, as the server wrote it into its data directory. */
export function readAdmin(dataDir: string): AdminKey {
  return JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
}

/** `tessera configure` with the administrator's access key into `env`'s profile; throws if it fails. */
export async function configureAdmin(
  env: NodeJS.ProcessEnv,
  admin: AdminKey,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const configured = await run(
    process.execPath,
    [bin, 'configure', '--access-id', admin.accessId, '--access-key', admin.accessKey],
    env,
    60_000,
  );
  if (configured.code !== 0) throw new Error(`configure failed: ${configured.stderr}`);
  return configured;
}

/** Runs `tessera` commands one after another in `env`; each must exit 0. */
export async function runSteps(env: NodeJS.ProcessEnv, steps: readonly string[][]): Promise<void> {
  for (const step of steps) {
    const r = await run(process.execPath, [bin, ...step], env);
    expect(r.code, `${step.join(' ')}: ${r.stderr}`).toBe(0);
  }
}

export interface ConfiguredServer extends ServerProcess {
  /** The fresh temporary directory: HOME, `data/` (the server's) and `config/` (the CLI profile). */
  dir: string;
  dataDir: string;
  /** Runs `tessera` commands as the administrator. */
  env: NodeJS.ProcessEnv;
  admin: AdminKey;
  /** What `tessera configure` printed. */
  configured: { stdout: string; stderr: string };
  /** Stops the server and removes `dir`. */
  close(): Promise<void>;
}

/**
 * A server process on a fresh data directory, with its administrator configured in a CLI profile:
 * `env` runs `tessera` commands as the administrator; `close` stops the server and removes it all.
 * If it cannot start or configure, it cleans up before it throws.
 */
export async function startConfiguredServer(
  prefix: string,
  options: Pick<ServerProcessOptions, 'startTimeoutMs'> = {},
): Promise<ConfiguredServer> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dataDir = join(dir, 'data');
  let started: ServerProcess | undefined;
  const close = async () => {
    await started?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    started = await startServerProcess(dataDir, options);
    const env = cliEnv(dir, started.url);
    const admin = readAdmin(dataDir);
    const { stdout, stderr } = await configureAdmin(env, admin);
    return { ...started, dir, dataDir, env, admin, configured: { stdout, stderr }, close };
  } catch (e) {
    await close();
    throw e;
  }
}
