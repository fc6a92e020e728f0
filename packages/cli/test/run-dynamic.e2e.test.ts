import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, type ConfiguredServer, run, runSteps, startConfiguredServer } from './server-process.js';

/**
 * `tessera run --dynamic-env` as a real process against a real server and the local PostgreSQL
 * (127.0.0.1:5432, user postgres, trust auth): the child gets a working role, its lease is renewed
 * while the child lives, and revoked (role dropped) when it exits.
 */

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const tag = `r${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const targetDb = `tessera_run_${tag}`;
const prefix = `tsr_${tag}_`;

async function adminQuery(text: string, values: unknown[] = [], database = targetDb) {
  const c = new pg.Client({ ...PG, database });
  await c.connect();
  try {
    return await c.query(text, values);
  } finally {
    await c.end();
  }
}
const roleExists = async (name: string) =>
  (await adminQuery('select 1 from pg_roles where rolname = $1', [name])).rowCount === 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('tessera run --dynamic-env against a real server and PostgreSQL', () => {
  let dir: string;
  let server: ConfiguredServer;
  let env: NodeJS.ProcessEnv;
  let adminToken: string;
  const tessera = (args: string[]) => run(process.execPath, [bin, ...args], env);
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    await adminQuery(`create database ${targetDb}`, [], 'postgres');
    server = await startConfiguredServer('tessera-run-dynamic-');
    ({ dir, env } = server);
    const { admin } = server;
    const auth = await fetch(`${server.url}/v1/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        accessType: 'access_key',
        accessId: admin.accessId,
        accessKey: admin.accessKey,
      }),
    });
    adminToken = ((await auth.json()) as { token: string }).token;
    const created = await api('POST', '/v1/dynamic-secrets', {
      name: '/run/pg',
      type: 'postgresql',
      settings: {
        host: PG.host,
        port: PG.port,
        database: targetDb,
        adminUsername: 'postgres',
        adminPassword: 'unused-trust',
        usernamePrefix: prefix,
      },
      // 4 s leases: renewed about every 2 s while the child runs.
      defaultTtlSeconds: 4,
      maxTtlSeconds: 600,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const steps: string[][] = [
      ['auth-method', 'create', 'universal-identity', '--name', '/run/app', '--ttl', '60', '--jwt-ttl', '1'],
      ['create-role', '--name', 'run-readers'],
      ['set-role-rule', '--role-name', 'run-readers', '--path', '/run/*', '--capability', 'read'],
      ['assoc-role-am', '--role-name', 'run-readers', '--am-name', '/run/app'],
    ];
    await runSteps(env, steps);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    const left = await adminQuery('select rolname from pg_roles where rolname like $1', [`${prefix}%`]);
    for (const r of left.rows)
      await adminQuery(`drop owned by "${r.rolname}"; drop role "${r.rolname}"`).catch(() => {});
    await adminQuery(`drop database if exists ${targetDb} with (force)`, [], 'postgres');
  });

  it('gives the child a working role from one lease, renews it while the child lives, revokes it at exit', async () => {
    const issued = await tessera(['uid-generate-token', '--auth-method-name', '/run/app', '--json']);
    expect(issued.code, issued.stderr).toBe(0);
    const tokenFile = join(dir, 'app-token');
    writeFileSync(tokenFile, `UID_TOKEN=${JSON.parse(issued.stdout).token}\n`, { mode: 0o600 });
    // The child logs in with the credential (psql reads PGUSER/PGPASSWORD), prints who it is,
    // stays alive past the lease's first 4 s TTL, then exits 7.
    const script = `psql -h 127.0.0.1 -d ${targetDb} -tAc "select current_user" && sleep 7 && exit 7`;
    const proc: ChildProcess = spawn(
      process.execPath,
      [
        bin,
        'run',
        '--uid-token-file',
        tokenFile,
        '--dynamic-env',
        'PGUSER=/run/pg:username',
        '--dynamic-env',
        'PGPASSWORD=/run/pg:password',
        '--dynamic-env',
        'LEASE_ID=/run/pg:leaseId',
        '--',
        'sh',
        '-c',
        script,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env },
    );
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
    });
    proc.stderr!.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const until = Date.now() + 15_000;
    while (!/^tsr_/m.test(out) && Date.now() < until) await sleep(100);
    const username = /^(tsr_\S+)$/m.exec(out)?.[1];
    expect(username, out).toMatch(new RegExp(`^${prefix}`));
    expect(await roleExists(username!)).toBe(true);

    const leases = await api('GET', '/v1/leases?name=/run/pg');
    expect(leases.body.items).toHaveLength(1); // one lease for both variables
    const lease = leases.body.items[0];
    expect(lease.username).toBe(username);
    // Past the first TTL: still active and still there, because it was renewed.
    await sleep(5500);
    const renewed = (await api('GET', '/v1/leases?name=/run/pg')).body.items[0];
    expect(renewed.state).toBe('active');
    expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(lease.createdAt) + 5000);
    expect(await roleExists(username!)).toBe(true);

    expect(await exited).toBe(7);
    const after = (await api('GET', '/v1/leases?name=/run/pg')).body.items[0];
    expect(after.state).toBe('revoked');
    expect(await roleExists(username!)).toBe(false);
    expect(out).not.toMatch(/password/i);
  }, 60_000);
});
