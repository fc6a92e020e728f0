import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';
import {
  followRealTime,
  rotatedSecretsApi,
  rotateTimes,
  sleep,
  startReconnectLoop,
} from './rotation.helpers.js';

/**
 * Two-account rotated secrets against the real PostgreSQL (issue 6, ADR 0011), in a dedicated
 * database. The machine's PostgreSQL trusts 127.0.0.1, so a connection proves the account and its
 * grants, not the password: the password is checked against the role's stored SCRAM/MD5 verifier.
 */
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const tag = `tsrp${process.pid % 100000}_${Math.random().toString(36).slice(2, 6)}`;
const targetDb = `tessera_rot_${tag}`;
const A = `${tag}_a`;
const B = `${tag}_b`;
const C = `${tag}_c`;
const D = `${tag}_d`;

async function adminQuery(text: string, values: unknown[] = [], database = targetDb) {
  const c = new pg.Client({ ...PG, database });
  await c.connect();
  try {
    return await c.query(text, values);
  } finally {
    await c.end();
  }
}

/** True when `password` is the role's password, by its stored verifier (SCRAM-SHA-256 or MD5). */
async function passwordMatches(role: string, password: string): Promise<boolean> {
  const { rows } = await adminQuery('select rolpassword from pg_authid where rolname = $1', [role]);
  const stored = rows[0]?.rolpassword as string | null | undefined;
  if (!stored) return false;
  const scram = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(stored);
  if (scram) {
    const salted = pbkdf2Sync(password, Buffer.from(scram[2]!, 'base64'), Number(scram[1]), 32, 'sha256');
    const storedKey = createHash('sha256')
      .update(createHmac('sha256', salted).update('Client Key').digest())
      .digest('base64');
    return storedKey === scram[3];
  }
  return (
    stored ===
    `md5${createHash('md5')
      .update(password + role)
      .digest('hex')}`
  );
}

async function connectAs(user: string, password: string): Promise<void> {
  const c = new pg.Client({ ...PG, user, password, database: targetDb, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    await c.query('select count(*) from rotation_probe');
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  await adminQuery(`create database ${targetDb}`, [], 'postgres');
  await adminQuery('create table rotation_probe (id int)');
});
afterAll(async () => {
  for (const role of [A, B, C, D])
    await adminQuery(`drop owned by "${role}"; drop role if exists "${role}"`).catch(() => {});
  await adminQuery(`drop database if exists ${targetDb} with (force)`, [], 'postgres');
  for (const role of [A, B, C, D])
    await adminQuery(`drop role if exists "${role}"`, [], 'postgres').catch(() => {});
});

describe('two-account rotated secrets on PostgreSQL', () => {
  let s: TestServer;
  const { api, value, rotate, describe: describeItem } = rotatedSecretsApi(() => s);

  beforeAll(async () => {
    s = await startTestServer('sqlite', {}, { tessera: { rotationPollMs: 200 } });
    followRealTime(s);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('keeps a client reconnecting every ~20 ms working through 3 rotations, zero failed connections', async () => {
    const name = '/rotation/pg-orders';
    const created = await api('POST', '/v1/rotated-secrets', {
      name,
      type: 'postgresql',
      host: PG.host,
      port: PG.port,
      database: targetDb,
      adminUsername: 'postgres',
      adminPassword: 'unused-trust',
      creationStatements: [
        `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'`,
        `GRANT SELECT ON rotation_probe TO "{{name}}"`,
      ],
      usernames: [A, B],
      graceSeconds: 1,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ strategy: 'two-account', version: 1, currentUsername: A });

    const client = startReconnectLoop({ read: () => value(name), connect: connectAs });
    expect(await rotateTimes(rotate, name, 3)).toEqual([2, 3, 4]);
    // After the last grace period, the job retires the previous account.
    await sleep(1600);
    const { connections, failures, seen, credentials } = await client.stop();
    expect(failures).toEqual([]);
    expect(connections).toBeGreaterThan(20);
    expect(seen).toEqual(new Set([`${A}@1`, `${B}@2`, `${A}@3`, `${B}@4`]));

    expect(await describeItem(name)).toMatchObject({
      version: 4,
      currentUsername: B,
      retireAt: null,
      failures: 0,
    });
    const current = (await value(name)).body;
    expect(await passwordMatches(current.username, current.password)).toBe(true);
    // Every earlier password was replaced on the target (v3's account retired after its grace period).
    for (const v of [1, 2, 3]) {
      const old = credentials.get(v)!;
      expect(await passwordMatches(old.username, old.password), `v${v} still set`).toBe(false);
    }
  }, 60_000);

  it('creates missing accounts with the default statement and no expiry (not VALID UNTIL 1970)', async () => {
    const name = '/rotation/pg-default';
    const created = await api('POST', '/v1/rotated-secrets', {
      name,
      type: 'postgresql',
      host: PG.host,
      port: PG.port,
      database: targetDb,
      adminUsername: 'postgres',
      adminPassword: 'unused-trust',
      usernames: [C, D],
      graceSeconds: 1,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { rows } = await adminQuery(
      "select rolname, rolcanlogin, rolvaliduntil, rolvaliduntil = 'infinity' as never from pg_authid where rolname = any($1) order by rolname",
      [[C, D]],
    );
    expect(rows.map((r) => r.rolname)).toEqual([C, D]);
    for (const r of rows) {
      expect(r.rolcanlogin).toBe(true);
      // Either no clause or 'infinity'; never a date in the past.
      expect(r.rolvaliduntil === null || r.never === true, `${r.rolname}: ${r.rolvaliduntil}`).toBe(true);
    }
    const current = (await value(name)).body;
    expect(await passwordMatches(current.username, current.password)).toBe(true);
  });
});
