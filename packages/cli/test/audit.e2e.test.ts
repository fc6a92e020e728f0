import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, type ConfiguredServer, run, startConfiguredServer } from './server-process.js';

/**
 * `tessera audit` against a real server process with the built binary: failed sign-ins show up in
 * `audit failures` the way an operator greps a log for "authentication failed", and `audit list
 * --follow` tails the ledger until Ctrl-C.
 */
function tessera(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    ok(run(process.execPath, [bin, ...args], env, 60_000));
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('tessera audit against a real server', () => {
  let server: ConfiguredServer;
  let env: NodeJS.ProcessEnv;
  let adminAccessId: string;

  beforeAll(async () => {
    server = await startConfiguredServer('tessera-audit-e2e-');
    env = server.env;
    adminAccessId = server.admin.accessId;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  it('shows a failed `tessera auth` in `audit failures` as "authentication failed" with its reason', async () => {
    const refused = await tessera(
      [
        'auth',
        '--access-id',
        adminAccessId,
        '--access-type',
        'access_key',
        '--access-key',
        'tak-not-the-key',
      ],
      env,
    );
    expect(refused.code).toBe(1);
    // The caller learns only that the credential is not valid…
    expect(refused.stderr).not.toContain('wrong_access_key');
    const unknown = await tessera(
      ['auth', '--access-id', 'p-doesnotexist', '--access-type', 'access_key', '--access-key', 'x'],
      env,
    );
    expect(unknown.code).toBe(1);

    // …the operator sees why.
    const failures = await tessera(['audit', 'failures'], env);
    expect(failures.code, failures.stderr).toBe(0);
    const lines = failures.stdout.split('\n').filter((l) => l.includes('authentication failed'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('reason=wrong_access_key');
    expect(lines[0]).toContain(`actor=-/${adminAccessId}/-`);
    expect(lines[1]).toContain('reason=unknown_access_id');
    expect(lines[1]).toContain('source=127.0.0.1');
    // Nothing secret on the way: not the wrong key, not the admin key.
    expect(failures.stdout).not.toContain('tak-not-the-key');

    const json = await tessera(['audit', 'failures', '--json'], env);
    const events = (JSON.parse(json.stdout) as { items: Array<{ reason: string }> }).items;
    expect(events.map((e) => e.reason)).toEqual(['wrong_access_key', 'unknown_access_id']);
  }, 60_000);

  it('lists with filters and hashes a value', async () => {
    const list = await tessera(['audit', 'list', '--type', 'auth.*', '--outcome', 'success'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/ {2}success {2}auth\.succeeded {2}/);
    expect(list.stdout).not.toContain('auth.failed');
    const hash = await tessera(['audit', 'hash', '--value', 'needle'], env);
    expect(hash.stdout).toMatch(/^hmac-sha256:[0-9a-f]{64}\n$/);
    expect((await tessera(['audit', 'hash', '--value', 'needle'], env)).stdout).toBe(hash.stdout);
  }, 60_000);

  it('follows new events with --follow and exits 0 on SIGINT', async () => {
    const follower = spawn(process.execPath, [bin, 'audit', 'list', '--follow', '--type', 'auth.failed'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    follower.stdout!.on('data', (d) => {
      out += d;
    });
    follower.stderr!.on('data', (d) => {
      err += d;
    });
    const exited = new Promise<number | null>((r) => follower.once('exit', (code) => r(code)));
    await until(() => out.split('\n').filter(Boolean).length === 2, 'the backlog');
    await tessera(
      ['auth', '--access-id', 'p-followme', '--access-type', 'access_key', '--access-key', 'x'],
      env,
    );
    await until(() => out.split('\n').filter(Boolean).length === 3, 'the new event');
    expect(out.trimEnd().split('\n').at(-1)).toMatch(/ {2}failure {2}auth\.failed .* unknown_access_id$/);
    follower.kill('SIGINT');
    expect(await exited, err).toBe(0);
  }, 60_000);
});
