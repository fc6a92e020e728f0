import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminKey, bin, readAdmin, run, startServerProcess } from './server-process.js';

/**
 * `tessera root-key split` and `tessera unseal` with the built binary against real server processes:
 * split a data dir's key 3-of-5, delete the key file, restart sealed, unseal with three holders.
 */
function tessera(args: string[], env: NodeJS.ProcessEnv, stdin?: string) {
  if (stdin === undefined) return run(process.execPath, [bin, ...args], env, 60_000);
  return new Promise<{ code: number; stdout: string; stderr: string }>((ok) => {
    const child = spawn(process.execPath, [bin, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => ok({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

async function json(url: string, method: string, body?: unknown, token?: string) {
  const res = await fetch(url, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('tessera root-key split and tessera unseal', () => {
  let dir: string;
  let data: string;
  let env: NodeJS.ProcessEnv;
  let admin: AdminKey;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-unseal-e2e-'));
    data = join(dir, 'data');
    env = { ...process.env, TESSERA_CONFIG_DIR: join(dir, 'config'), HOME: dir };
    for (const name of [
      'TESSERA_TOKEN',
      'TESSERA_PROFILE',
      'TESSERA_ROOT_KEY',
      'TESSERA_SEALED',
      'TESSERA_URL',
    ])
      delete env[name];
    const first = await startServerProcess(data);
    stops.push(first.stop);
    admin = readAdmin(data);
    const auth = await json(`${first.url}/v1/auth`, 'POST', { accessType: 'access_key', ...admin });
    const created = await json(
      `${first.url}/v1/secrets`,
      'POST',
      { name: '/e2e/sealed', value: 'still-readable-after-unseal' },
      auth.body.token,
    );
    expect(created.status).toBe(201);
    await first.stop();
  }, 60_000);

  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('splits, starts sealed, and unseals with three shares from files and stdin', async () => {
    const base = ['root-key', 'split', '--data-dir', data, '--shares', '5', '--threshold', '3'];
    const unconfirmed = await tessera([...base, '--remove-key-file'], env);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/--yes/);
    expect(unconfirmed.stdout).not.toMatch(/tessera-share-/);
    expect(existsSync(join(data, 'root.key'))).toBe(true);

    const text = await tessera(base, env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.match(/^tessera-share-\d-3-/gm)).toHaveLength(5);
    expect(existsSync(join(data, 'root.key'))).toBe(true);

    const split = await tessera([...base, '--remove-key-file', '--yes', '--json'], env);
    expect(split.code, split.stderr).toBe(0);
    const result = JSON.parse(split.stdout);
    expect(result).toMatchObject({ threshold: 3, keyFileRemoved: true });
    expect(result.shares).toHaveLength(5);
    expect(existsSync(join(data, 'root.key'))).toBe(false);
    const files = result.shares.map((share: string, i: number) => {
      const file = join(dir, `share-${i + 1}.txt`);
      writeFileSync(file, `${share}\n`, { mode: 0o600 });
      return file;
    });

    // `init` on the sealed data dir must not create a new, wrong key next to the store.
    const init = await tessera(['init', '--data-dir', data], env);
    expect(init.code).toBe(1);
    expect(init.stderr).toMatch(/TESSERA_ALREADY_INITIALISED/);
    expect(existsSync(join(data, 'root.key'))).toBe(false);

    const sealed = await startServerProcess(data);
    stops.push(sealed.stop);
    const url = sealed.url;
    expect(
      (await json(`${url}/v1/auth`, 'POST', { accessType: 'access_key', ...admin })).body.error.code,
    ).toBe('TESSERA_SEALED');
    const status = await tessera(['unseal', '--url', url], env);
    expect(status.stdout).toMatch(/Sealed: 0 of \? key shares/);

    // A share on the command line is refused before anything is sent.
    const literal = await tessera(['unseal', '--url', url, '--share', result.shares[0]], env);
    expect(literal.code).toBe(2);
    expect(literal.stderr).toMatch(/shell history/);
    expect(literal.stderr).not.toContain(result.shares[0]);

    const one = await tessera(['unseal', '--url', url, '--share-file', files[0]], env);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/1 of 3 \(2 more needed\)/);
    const two = await tessera(['unseal', '--url', url, '--share', '-'], env, `${result.shares[3]}\n`);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toMatch(/2 of 3/);

    // A share of another data dir's key: refused with a stable code; progress kept.
    const otherDir = join(dir, 'other');
    const other = await startServerProcess(otherDir);
    await other.stop();
    const otherSplit = await tessera(
      ['root-key', 'split', '--data-dir', otherDir, '--shares', '3', '--threshold', '2', '--json'],
      env,
    );
    const foreign = await tessera(
      ['unseal', '--url', url, '--share', '-'],
      env,
      JSON.parse(otherSplit.stdout).shares[0],
    );
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/TESSERA_UNSEAL_SHARE_INVALID/);
    expect(foreign.stderr).not.toMatch(/tessera-share-/);

    const three = await tessera(['unseal', '--url', url, '--share-file', files[4], '--json'], env);
    expect(three.code, three.stderr).toBe(0);
    expect(JSON.parse(three.stdout)).toMatchObject({ sealed: false, progress: 3, threshold: 3 });

    const auth = await json(`${url}/v1/auth`, 'POST', { accessType: 'access_key', ...admin });
    expect(auth.status).toBe(200);
    const value = await json(
      `${url}/v1/secrets/value?name=%2Fe2e%2Fsealed`,
      'GET',
      undefined,
      auth.body.token,
    );
    expect(value.body.value).toBe('still-readable-after-unseal');
    const after = await tessera(['unseal', '--url', url, '--share-file', files[1]], env);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/already running/);
    await sealed.stop();
  }, 120_000);
});
