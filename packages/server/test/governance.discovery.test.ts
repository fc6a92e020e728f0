import mysql from 'mysql2/promise';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectPrefixCatalogued } from './fixtures/audit-catalogue.js';
import { startTestServer, type TestServer } from './harness.js';
import { mysqlFixture, type ProducerFixture, postgresFixture, redisFixture } from './producer-fixtures.js';
import { MYSQL_HOST, MYSQL_PORT } from './rotation.helpers.js';

/**
 * Issue 16: discovery against the real PostgreSQL, MariaDB and Redis on the machine. Accounts made
 * behind Tessera's back become discovered identities needing an owner and a decision; Tessera's own
 * accounts (leases) are not reported; adopting rotates the account so the old password stops working;
 * replace and delete drop it; each decision has a preview that changes nothing.
 */
const tag = `d${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };

const cases: Array<[string, ProducerFixture]> = [
  ['postgresql', postgresFixture()],
  ['mysql', mysqlFixture()],
  ['redis', redisFixture()],
];

describe.each(cases)('discovery on %s', (type, target) => {
  let s: TestServer;
  const prefix = `tsd_${tag}_${type.slice(0, 2)}_`;
  const item = `/${tag}/${type}`;
  const ok = async (method: string, url: string, body?: unknown) => {
    const r = await s.call(method, url, { token: s.adminToken, ...(body !== undefined ? { body } : {}) });
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  /** A rogue account with a known password (PostgreSQL here trusts 127.0.0.1: its hash is compared). */
  const rogue = async (name: string) => {
    if (type === 'postgresql') {
      const c = new pg.Client({ ...PG, database: 'postgres' });
      await c.connect();
      await c.query(`create role "${name}" login password 'old-password-1'`);
      await c.end();
    } else await target.createRogue(name);
  };
  const oldPassword = type === 'postgresql' ? 'old-password-1' : 'x';
  const pgHash = async (name: string) => {
    const c = new pg.Client({ ...PG, database: 'postgres' });
    await c.connect();
    const { rows } = await c.query('select rolpassword from pg_authid where rolname = $1', [name]);
    await c.end();
    return rows[0]?.rolpassword as string | undefined;
  };
  const oldPasswordWorks = async (name: string) => {
    if (type === 'postgresql') return (await pgHash(name))?.includes('SCRAM') && !(await changed(name));
    return canLogin(name, oldPassword);
  };
  /** Logs in only (a rogue account may have no grants for the fixture's probe). */
  const canLogin = async (name: string, password: string) => {
    try {
      if (type === 'mysql') {
        const c = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: name, password });
        await c.end();
      } else {
        const c = createClient({
          socket: { host: '127.0.0.1', port: 6379, reconnectStrategy: false },
          username: name,
          password,
        });
        c.on('error', () => {});
        await c.connect();
        await c.ping();
        c.destroy();
      }
      return true;
    } catch {
      return false;
    }
  };
  let initialHash: string | undefined;
  const changed = async (name: string) => (await pgHash(name)) !== initialHash;

  beforeAll(async () => {
    await target.setUp(tag);
    s = await startTestServer('sqlite');
    await ok('POST', '/v1/dynamic-secrets', { name: item, type, settings: target.settings(prefix) });
  });
  afterAll(async () => {
    await s?.close();
    await target.tearDown(prefix);
  });

  it('finds accounts created behind Tessera’s back, not its own leases', async () => {
    const lease = await ok('POST', '/v1/dynamic-secrets/credentials', { name: item });
    s.track(lease.password);
    for (const n of ['adopt', 'replace', 'delete']) await rogue(`${prefix}${n}`);
    initialHash = type === 'postgresql' ? await pgHash(`${prefix}adopt`) : undefined;
    expect(await oldPasswordWorks(`${prefix}adopt`)).toBe(true);
    await ok('POST', '/v1/discovery/sources', { name: `${type}-${tag}`, itemName: item, prefix });
    const run = await ok('POST', `/v1/discovery/sources/${type}-${tag}/run`);
    expect(run).toMatchObject({ unknown: 3, discovered: 3 });
    expect(run.accounts).toBeGreaterThanOrEqual(4);
    const again = await ok('POST', `/v1/discovery/sources/${type}-${tag}/run`);
    expect(again).toMatchObject({ unknown: 3, discovered: 0 });
    const accounts = (await ok('GET', `/v1/discovery/accounts?source=${type}-${tag}`)).items;
    expect(accounts.map((a: any) => a.account).sort()).toEqual(
      [`${prefix}adopt`, `${prefix}delete`, `${prefix}replace`].sort(),
    );
    expect(accounts.every((a: any) => a.state === 'pending')).toBe(true);
    // MariaDB records when each password was set (just now, behind Tessera's back); PostgreSQL and
    // Redis do not. Either way it is the password's age, not a use of the account.
    for (const a of accounts) {
      if (type === 'mysql') {
        expect(Math.abs(Date.parse(a.passwordChangedAt) - Date.now())).toBeLessThan(120_000);
      } else expect(a.passwordChangedAt).toBeNull();
    }
    if (type === 'mysql') {
      // A password changed again behind Tessera's back: the next run records the new date
      // (MariaDB keeps seconds, hence the wait).
      const before = accounts.find((a: any) => a.account === `${prefix}replace`).passwordChangedAt;
      await new Promise((r) => setTimeout(r, 1100));
      const c = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: 'root' });
      await c.query("ALTER USER ?@'%' IDENTIFIED BY 'x'", [`${prefix}replace`]);
      await c.end();
      await ok('POST', `/v1/discovery/sources/${type}-${tag}/run`);
      const rerun = (await ok('GET', `/v1/discovery/accounts?source=${type}-${tag}`)).items;
      const at = (n: string) => rerun.find((a: any) => a.account === `${prefix}${n}`).passwordChangedAt;
      expect(Date.parse(at('replace'))).toBeGreaterThan(Date.parse(before));
      expect(at('delete')).toBe(accounts.find((a: any) => a.account === `${prefix}delete`).passwordChangedAt);
    }
    // Each is a discovered identity with no owner: NHI1 and NHI7 until decided.
    const entry = await ok('GET', `/v1/inventory/${accounts[0].identityId}`);
    expect(entry).toMatchObject({ management: 'discovered', owner: 'unassigned', lastUsedAt: null });
    expect(entry.findings.map((f: any) => f.rule).sort()).toEqual(['no-owner', 'unmanaged-account']);
  });

  it('adopting rotates the account under Tessera: the old password stops working', async () => {
    const accounts = (await ok('GET', `/v1/discovery/accounts?source=${type}-${tag}`)).items;
    const byName = (n: string) => accounts.find((a: any) => a.account === `${prefix}${n}`);
    const adopt = byName('adopt');
    const preview = await ok('POST', `/v1/discovery/accounts/${adopt.id}/decide`, {
      decision: 'adopt',
      preview: true,
    });
    expect(preview.effects.join(' ')).toMatch(/old one stops working/);
    expect(preview.target).toContain(type);
    expect(await oldPasswordWorks(`${prefix}adopt`)).toBe(true);
    expect(
      (
        await s.call('POST', `/v1/discovery/accounts/${adopt.id}/decide`, {
          token: s.adminToken,
          body: { decision: 'adopt' },
        })
      ).status,
    ).toBe(400);
    const done = await ok('POST', `/v1/discovery/accounts/${adopt.id}/decide`, {
      decision: 'adopt',
      owner: 'team-data',
    });
    expect(done).toMatchObject({
      state: 'adopted',
      rotatedSecret: `/discovered/${type}-${tag}/${prefix}adopt`,
    });
    expect(await oldPasswordWorks(`${prefix}adopt`)).toBe(false);
    // The new password is Tessera's: read it as a rotated secret and log in with it.
    const value = await ok('GET', `/v1/rotated-secrets/value?name=${encodeURIComponent(done.rotatedSecret)}`);
    expect(value.username).toBe(`${prefix}adopt`);
    if (type !== 'postgresql') {
      s.track(value.password);
      expect(await canLogin(value.username, value.password)).toBe(true);
    }
    const entry = await ok('GET', `/v1/inventory/${adopt.identityId}`);
    expect(entry).toMatchObject({ owner: 'team-data', management: 'tessera-issued' });
    expect(entry.findings).toEqual([]);
    expect(
      (
        await s.call('POST', `/v1/discovery/accounts/${adopt.id}/decide`, {
          token: s.adminToken,
          body: { decision: 'delete' },
        })
      ).status,
    ).toBe(409);

    for (const [name, decision] of [
      ['replace', 'replace'],
      ['delete', 'delete'],
    ] as const) {
      const a = byName(name);
      const p = await ok('POST', `/v1/discovery/accounts/${a.id}/decide`, { decision, preview: true });
      expect(p.effects[0]).toMatch(/^drop /);
      expect(await target.accountExists(`${prefix}${name}`)).toBe(true);
      await ok('POST', `/v1/discovery/accounts/${a.id}/decide`, { decision, owner: 'team-data' });
      expect(await target.accountExists(`${prefix}${name}`)).toBe(false);
    }
    const after = (await ok('GET', `/v1/discovery/accounts?source=${type}-${tag}`)).items;
    expect(after.map((a: any) => a.state).sort()).toEqual(['adopted', 'deleted', 'replaced']);
    // The adopted account is Tessera's now: a new run reports nothing unknown.
    expect(await ok('POST', `/v1/discovery/sources/${type}-${tag}/run`)).toMatchObject({ unknown: 0 });
  });

  it('holds its governance.* events to the audit catalogue', async () => {
    await expectPrefixCatalogued(s.tessera.store.db, 'governance.', [
      'governance.source_added',
      'governance.discovery_ran',
      'governance.discovered_decided',
    ]);
  });
});
