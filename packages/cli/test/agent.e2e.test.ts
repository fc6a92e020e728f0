import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bin,
  cliEnv,
  configureAdmin,
  freePort,
  readAdmin,
  run,
  runSteps,
  type ServerProcess,
  startServerProcess,
} from './server-process.js';

/**
 * `tessera agent` and `tessera run` as real processes against a real server process: rendering,
 * kill -9 and restart, an outage longer than a session's life, revocation, SIGTERM.
 */

/** `tessera server` on a fixed port; `clockShiftMs` moves its clock (a preloaded Date.now shift). */
async function startServer(dataDir: string, port: number, clockShiftMs = 0): Promise<ServerProcess> {
  const env = { ...process.env };
  if (clockShiftMs) {
    const shift = join(dataDir, '..', 'clock-shift.mjs');
    writeFileSync(shift, `const real = Date.now; Date.now = () => real() + ${clockShiftMs};\n`);
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import ${shift}`;
  }
  return startServerProcess(dataDir, { port, env });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface Agent {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startAgent(args: string[]): Agent {
  const proc = spawn(process.execPath, [bin, 'agent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d) => {
    output += d;
  });
  proc.stderr!.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => output, exited };
}

type Health = Record<string, unknown> & { status: string; lastRotationAt: string | null };
const health = async (port: number): Promise<Health> =>
  (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as Health;

describe('tessera agent and tessera run against a real server', () => {
  let dir: string;
  let dataDir: string;
  let port: number;
  let url: string;
  let server: ServerProcess;
  let env: NodeJS.ProcessEnv;
  const tessera = (args: string[]) => run(process.execPath, [bin, ...args], env);

  async function newToken(method: string, file: string): Promise<{ token: string; tokenId: string }> {
    const issued = await tessera(['uid-generate-token', '--auth-method-name', method, '--json']);
    expect(issued.code, issued.stderr).toBe(0);
    const parsed = JSON.parse(issued.stdout) as { token: string; tokenId: string };
    writeFileSync(file, `UID_TOKEN=${parsed.token}\n`, { mode: 0o600 });
    return parsed;
  }

  /** True when the token in `file` is accepted by the server. */
  async function fileTokenWorks(file: string): Promise<boolean> {
    const token = /UID_TOKEN=(\S+)/.exec(readFileSync(file, 'utf8'))?.[1];
    const r = await fetch(`${url}/v1/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accessType: 'universal_identity', uidToken: token }),
    });
    return r.ok;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-agent-e2e-'));
    dataDir = join(dir, 'data');
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = await startServer(dataDir, port);
    env = cliEnv(dir, url);
    await configureAdmin(env, readAdmin(dataDir));
    const steps: string[][] = [
      // Short: 60 s UID tokens (rotation every few seconds at fraction 0.05). Long: 1 h tokens.
      [
        'auth-method',
        'create',
        'universal-identity',
        '--name',
        '/agent/short',
        '--ttl',
        '1',
        '--jwt-ttl',
        '1',
      ],
      [
        'auth-method',
        'create',
        'universal-identity',
        '--name',
        '/agent/long',
        '--ttl',
        '60',
        '--jwt-ttl',
        '1',
      ],
      ['create-role', '--name', 'agent-readers'],
      ['set-role-rule', '--role-name', 'agent-readers', '--path', '/agent/*', '--capability', 'read'],
      ['assoc-role-am', '--role-name', 'agent-readers', '--am-name', '/agent/short'],
      ['assoc-role-am', '--role-name', 'agent-readers', '--am-name', '/agent/long'],
      ['create-secret', '--name', '/agent/db', '--value', '{"user":"app","password":"s3cr3t-1"}'],
    ];
    await runSteps(env, steps);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--once renders files with mode 0600, replaced atomically when the secret changes', async () => {
    const tokenFile = join(dir, 'once-token');
    await newToken('/agent/long', tokenFile);
    const out = join(dir, 'rendered', 'db.json');
    const config = join(dir, 'once.yaml');
    writeFileSync(
      config,
      [
        `server_url: ${url}`,
        `uid_token_file: ${tokenFile}`,
        `session_token_file: ${join(dir, 'once-session')}`,
        'templates:',
        `  - destination: ${out}`,
        `    template: '{"password": "{{ secret "/agent/db" "password" }}"}'`,
      ].join('\n'),
    );
    const first = await tessera(['agent', '--config', config, '--once', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).written).toEqual([out]);
    expect(readFileSync(out, 'utf8')).toBe('{"password": "s3cr3t-1"}');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'once-session')).mode & 0o777).toBe(0o600);
    expect(first.stdout + first.stderr).not.toContain('s3cr3t');
    const inode = statSync(out).ino;

    const unchanged = await tessera(['agent', '--config', config, '--once', '--json']);
    expect(JSON.parse(unchanged.stdout).written).toEqual([]);
    expect(statSync(out).ino).toBe(inode);

    const update = await tessera([
      'update-secret-val',
      '--name',
      '/agent/db',
      '--value',
      '{"password":"s3cr3t-2"}',
    ]);
    expect(update.code, update.stderr).toBe(0);
    const changed = await tessera(['agent', '--config', config, '--once']);
    expect(changed.code, changed.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('{"password": "s3cr3t-2"}');
    // A new inode: the file was renamed over, never rewritten in place (readers see old or new).
    expect(statSync(out).ino).not.toBe(inode);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'rendered'))).toEqual(['db.json']);

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `server_url: ${url}\nuid_token_file: ${tokenFile}\nrotate_every: 5\n`);
    const refused = await tessera(['agent', '--config', bad, '--once']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('unknown key "rotate_every"');
  });

  it('tessera run passes secrets in the environment only and returns the child exit code', async () => {
    const tokenFile = join(dir, 'run-token');
    await newToken('/agent/long', tokenFile);
    const script = `const h=require('node:crypto').createHash('sha256').update(process.env.DB??'').digest('hex');console.log(h);process.exit(Number(process.env.CODE))`;
    const r = await run(
      process.execPath,
      [
        bin,
        'run',
        '--uid-token-file',
        tokenFile,
        '--env',
        'DB=/agent/db',
        '--',
        process.execPath,
        '-e',
        script,
      ],
      { ...env, CODE: '7' },
    );
    const value = '{"password":"s3cr3t-2"}';
    expect(r.code).toBe(7);
    expect(r.stdout.trim()).toBe(createHash('sha256').update(value).digest('hex'));
    expect(r.stdout + r.stderr).not.toContain('s3cr3t');
    const ok = await run(
      process.execPath,
      [
        bin,
        'run',
        '--uid-token-file',
        tokenFile,
        '--env',
        'DB=/agent/db',
        '--',
        process.execPath,
        '-e',
        script,
      ],
      { ...env, CODE: '0' },
    );
    expect(ok.code).toBe(0);
  });

  it('rotates on schedule, survives kill -9 at any moment, and exits 2 when its token is revoked', async () => {
    const tokenFile = join(dir, 'short-token');
    const { tokenId } = await newToken('/agent/short', tokenFile);
    const config = join(dir, 'short.yaml');
    const healthPort = await freePort();
    writeFileSync(
      config,
      [
        `server_url: ${url}`,
        `uid_token_file: ${tokenFile}`,
        `health_listen: 127.0.0.1:${healthPort}`,
        'rotate_at_fraction: 0.05', // 60 s TTL → every ~3 s
        'render_interval_seconds: 1',
        'templates:',
        `  - destination: ${join(dir, 'short.txt')}`,
        `    template: '{{ secret "/agent/db" "password" }}'`,
      ].join('\n'),
    );
    let agent = startAgent(['--config', config, '--json']);
    const rotated = async () => ((await health(healthPort)).lastRotationAt ? true : undefined);
    await waitFor('a first rotation', rotated);
    agent.proc.kill('SIGKILL');
    await agent.exited;
    expect(await fileTokenWorks(tokenFile)).toBe(true);

    for (const delayMs of [700, 1900]) {
      agent = startAgent(['--config', config, '--json']);
      await waitFor('a rotation after restart', rotated);
      await sleep(delayMs); // somewhere in the life, possibly mid-rotation
      agent.proc.kill('SIGKILL');
      await agent.exited;
      expect(await fileTokenWorks(tokenFile), agent.output()).toBe(true);
    }

    agent = startAgent(['--config', config, '--json']);
    await waitFor('agent ready', async () => ((await health(healthPort)).status === 'ok' ? true : undefined));
    const revoke = await tessera([
      'uid-revoke-token',
      '--revoke-token',
      tokenId,
      '--revoke-type',
      'revokeSelf',
      '--auth-method-name',
      '/agent/short',
    ]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(await agent.exited).toBe(2);
    expect(agent.output()).toContain('TESSERA_AGENT_UID_TOKEN_REFUSED');
    expect(agent.output()).toContain('revoked');
    expect(agent.output()).not.toContain('s3cr3t');
  }, 40_000);

  it('recovers after the server is down for longer than a session token lives; SIGTERM exits 0', async () => {
    const tokenFile = join(dir, 'long-token');
    await newToken('/agent/long', tokenFile);
    const sessionFile = join(dir, 'long-session');
    const healthPort = await freePort();
    const out = join(dir, 'long.txt');
    const config = join(dir, 'long.yaml');
    writeFileSync(
      config,
      [
        `server_url: ${url}`,
        `uid_token_file: ${tokenFile}`,
        `session_token_file: ${sessionFile}`,
        'render_interval_seconds: 1',
        'templates:',
        `  - destination: ${out}`,
        `    template: '{{ secret "/agent/db" "password" }}'`,
      ].join('\n'),
    );
    const agent = startAgent(['--config', config, '--health-listen', `127.0.0.1:${healthPort}`]);
    await waitFor('agent ready', async () => ((await health(healthPort)).status === 'ok' ? true : undefined));
    const sessionBefore = readFileSync(sessionFile, 'utf8');

    await server.stop();
    await waitFor('agent degraded', async () =>
      (await health(healthPort)).status === 'degraded' ? true : undefined,
    );
    // The server comes back 10 minutes later by its clock: every session token it issued (1-minute
    // sessions) has expired, though the agent's own clock says its session is still fresh.
    server = await startServer(dataDir, port, 10 * 60_000);
    const recovered = await waitFor(
      'agent recovered',
      async () => {
        const h = await health(healthPort);
        return h.status === 'ok' ? h : undefined;
      },
      20_000,
    );
    expect(recovered.lastError).toBeTruthy();
    const sessionAfter = readFileSync(sessionFile, 'utf8');
    expect(sessionAfter).not.toBe(sessionBefore);
    const read = await fetch(`${url}/v1/secrets/value?name=${encodeURIComponent('/agent/db')}`, {
      headers: { authorization: `Bearer ${sessionAfter.trim()}` },
    });
    expect(read.status).toBe(200);
    expect(agent.output()).toMatch(/server\.unreachable/);
    expect(agent.output()).toMatch(/agent\.recovered/);

    agent.proc.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(agent.output()).toContain('agent.stopped');
  }, 40_000);
});
