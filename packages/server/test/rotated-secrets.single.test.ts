import { recogniseTesseraCredential } from '@tessera/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from './harness.js';
import {
  mysqlCanQuery as canQuery,
  MYSQL_HOST as HOST,
  MYSQL_PORT as PORT,
  mysqlRoot as root,
  rotatedSecretsApi,
  shiftClock,
  sleep,
  startMariadbRotationTest,
} from './rotation.helpers.js';

/**
 * Single-account rotated secrets against the real MariaDB (issue 6, ADR 0011): the one account's
 * password changes at once; the new credential connects, the previous one does not; a failing target
 * keeps the last good credential. Also: rotated and static secrets share the item namespace.
 */
const run = `tsrs${process.pid % 100000}_${Math.random().toString(36).slice(2, 6)}`;
const ADMIN = `${run}_adm`;
const ADMIN_PASSWORD = 'Adm1nPassw0rdForSingle';
const USER = `${run}_s`;

describe('single-account rotated secrets on MariaDB', () => {
  let s: TestServer;
  const { api, value, rotate, describe: describeItem } = rotatedSecretsApi(() => s);
  const name = '/rotation/single-db';

  let fixture: Awaited<ReturnType<typeof startMariadbRotationTest>>;

  beforeAll(async () => {
    fixture = await startMariadbRotationTest({
      run,
      admin: ADMIN,
      adminPassword: ADMIN_PASSWORD,
      grants: [
        "GRANT CREATE USER ON *.* TO ?@'%'",
        "GRANT SELECT ON mysql.* TO ?@'%'",
        "GRANT SELECT ON test.* TO ?@'%' WITH GRANT OPTION",
      ],
    });
    s = fixture.server;
  });

  afterAll(() => fixture?.close());

  it('rotates the one account at once: the new credential connects, the previous one does not', async () => {
    const created = await api('POST', '/v1/rotated-secrets', {
      name,
      type: 'mysql',
      host: HOST,
      port: PORT,
      adminUsername: ADMIN,
      adminPassword: ADMIN_PASSWORD,
      creationStatements: ["GRANT SELECT ON test.* TO '{{name}}'@'%'"],
      strategy: 'single-account',
      usernames: [USER],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      strategy: 'single-account',
      usernames: [USER],
      currentUsername: USER,
      version: 1,
      intervalSeconds: null,
    });
    const first = (await value(name)).body;
    expect(first).toMatchObject({ username: USER, version: 1 });
    expect(await canQuery(first.username, first.password)).toBe(true);

    const rotated = await rotate(name);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    // No grace period: nothing is left to retire.
    expect(rotated.body).toMatchObject({ version: 2, currentUsername: USER, retireAt: null, failures: 0 });
    const second = (await value(name)).body;
    expect(second).toMatchObject({ username: USER, version: 2 });
    expect(second.password).not.toBe(first.password);
    // Every password Tessera sets has a shape a scanner recognises offline (issue 17).
    for (const p of [first.password, second.password])
      expect(recogniseTesseraCredential(p)).toBe('rotated_password');
    expect(await canQuery(second.username, second.password)).toBe(true);
    expect(await canQuery(first.username, first.password)).toBe(false);

    // Nothing holds it: a second rotation right away is allowed.
    expect((await rotate(name)).status).toBe(200);
    const third = (await value(name)).body;
    expect(third.version).toBe(3);
    expect(await canQuery(third.username, third.password)).toBe(true);
    expect(await canQuery(second.username, second.password)).toBe(false);
  });

  it('keeps the last good credential when the target fails, and recovers on the retry', async () => {
    const good = (await value(name)).body;
    const c = await root();
    await c.query("REVOKE CREATE USER ON *.* FROM ?@'%'", [ADMIN]);
    await c.query('FLUSH PRIVILEGES');
    try {
      const failed = await rotate(name);
      expect(failed.status).toBe(503);
      expect(JSON.stringify(failed.body)).not.toContain(ADMIN_PASSWORD);
      const state = await describeItem(name);
      expect(state).toMatchObject({ version: good.version, failures: 1 });
      expect(state.lastError).toMatch(/denied|ER_/i);
      const still = (await value(name)).body;
      expect(still).toMatchObject({
        username: good.username,
        password: good.password,
        version: good.version,
      });
      expect(await canQuery(still.username, still.password)).toBe(true);
    } finally {
      await c.query("GRANT CREATE USER ON *.* TO ?@'%'", [ADMIN]);
      await c.end();
    }
    // The job retries once the backoff has passed (the clock is moved instead of waiting).
    shiftClock(s, 5100);
    for (let i = 0; i < 50 && (await describeItem(name)).version === good.version; i++) await sleep(100);
    expect(await describeItem(name)).toMatchObject({
      version: good.version + 1,
      failures: 0,
      lastError: null,
      nextAttemptAt: null,
    });
    const next = (await value(name)).body;
    expect(await canQuery(next.username, next.password)).toBe(true);
    expect(await canQuery(good.username, good.password)).toBe(false);
  });

  it('shares the item namespace with static secrets, both ways (409)', async () => {
    const staticOverRotated = await api('POST', '/v1/secrets', { name, value: 'x' });
    expect(staticOverRotated.status, JSON.stringify(staticOverRotated.body)).toBe(409);
    expect(staticOverRotated.body.error.code).toBe('TESSERA_CONFLICT');
    // Still the rotated secret under that name; no static item was made.
    expect((await value(name)).status).toBe(200);
    expect((await api('GET', `/v1/secrets/describe?name=${encodeURIComponent(name)}`)).status).toBe(404);

    const other = '/rotation/static-first';
    expect((await api('POST', '/v1/secrets', { name: other, value: 'x' })).status).toBe(201);
    const rotatedOverStatic = await api('POST', '/v1/rotated-secrets', {
      name: other,
      type: 'mysql',
      host: HOST,
      port: PORT,
      adminUsername: ADMIN,
      adminPassword: ADMIN_PASSWORD,
      strategy: 'single-account',
      usernames: [`${run}_t`],
    });
    expect(rotatedOverStatic.status).toBe(409);
  });
});
