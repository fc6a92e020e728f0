import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotationFailureAlert } from '../src/core/alerts/alert.rules.js';
import type { StoredAuditEvent } from '../src/core/audit/audit.model.js';
import type { TestServer } from './harness.js';
import {
  mysqlCanQuery as canQuery,
  MYSQL_HOST as HOST,
  mysqlConnect,
  MYSQL_PORT as PORT,
  mysqlRoot as root,
  rotatedSecretsApi,
  rotateTimes,
  shiftClock,
  sleep,
  startMariadbRotationTest,
  startReconnectLoop,
} from './rotation.helpers.js';

/**
 * Rotated secrets against the real MariaDB on the machine (issue 6, ADR 0011): a client that
 * re-reads the credential and reconnects every ~20 ms never fails through several two-account
 * rotations; a failing target keeps the last good credential, alerts and retries with backoff.
 */
const run = `tsrr${process.pid % 100000}_${Math.random().toString(36).slice(2, 6)}`;
const ADMIN = `${run}_adm`;
const ADMIN_PASSWORD = 'Adm1nPassw0rdForTest';

describe('rotated secrets on MariaDB', () => {
  let s: TestServer;
  const { api, value, rotate, describe: describeItem } = rotatedSecretsApi(() => s);
  const create = (name: string, usernames: string[], extra: Record<string, unknown> = {}) =>
    api('POST', '/v1/rotated-secrets', {
      name,
      type: 'mysql',
      host: HOST,
      port: PORT,
      adminUsername: ADMIN,
      adminPassword: ADMIN_PASSWORD,
      creationStatements: ["GRANT SELECT ON test.* TO '{{name}}'@'%'"],
      usernames,
      graceSeconds: 1,
      ...extra,
    });

  let fixture: Awaited<ReturnType<typeof startMariadbRotationTest>>;

  beforeAll(async () => {
    // A dedicated administrator whose rights the failure test can take away and give back.
    fixture = await startMariadbRotationTest({
      run,
      admin: ADMIN,
      adminPassword: ADMIN_PASSWORD,
      grants: [
        [
          "GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO ?@'%'",
          "GRANT CREATE USER, PROCESS, SUPER ON *.* TO ?@'%'",
        ],
        "GRANT SELECT ON mysql.* TO ?@'%'",
        "GRANT SELECT ON test.* TO ?@'%' WITH GRANT OPTION",
      ],
    });
    s = fixture.server;
  });

  afterAll(() => fixture?.close());

  it('keeps a client reconnecting every ~20 ms working through 3 rotations, zero failed connections', async () => {
    const name = '/rotation/orders-db';
    const created = await create(name, [`${run}_a`, `${run}_b`]);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain(ADMIN_PASSWORD);
    expect(created.body).toMatchObject({ strategy: 'two-account', version: 1, currentUsername: `${run}_a` });

    const client = startReconnectLoop({ read: () => value(name), connect: mysqlConnect });

    const started = Date.now();
    expect(await rotateTimes(rotate, name, 3)).toEqual([2, 3, 4]);
    // After the last grace period, the job retires the previous account.
    await sleep(1600);
    const { connections, failures, seen, credentials: passwords } = await client.stop();
    const elapsed = Date.now() - started;
    console.log(`rotations=3 connections=${connections} failures=${failures.length} elapsed=${elapsed}ms`);
    expect(failures).toEqual([]);
    expect(connections).toBeGreaterThan(50);
    expect(seen).toEqual(new Set([`${run}_a@1`, `${run}_b@2`, `${run}_a@3`, `${run}_b@4`]));

    const state = await describeItem(name);
    expect(state).toMatchObject({ version: 4, currentUsername: `${run}_b`, retireAt: null, failures: 0 });
    // The current credential works; the previous account's last password no longer does.
    const current = (await value(name)).body;
    expect(await canQuery(current.username, current.password)).toBe(true);
    // Every earlier credential stopped working: v3's account was retired after its grace period.
    for (const v of [1, 2, 3]) {
      const old = passwords.get(v)!;
      expect(await canQuery(old.username, old.password), `v${v} still works`).toBe(false);
    }

    // Audited as reads (never the password); every rotation step recorded.
    const events = await s.tessera.store.db
      .selectFrom('audit_events')
      .select(['type', 'data'])
      .where('type', 'like', 'rotated_secret.%')
      .execute();
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'rotated_secret.rotated').length).toBeGreaterThanOrEqual(4);
    expect(types.filter((t) => t === 'rotated_secret.read').length).toBeGreaterThan(50);
    const dump = JSON.stringify(await s.tessera.store.db.selectFrom('audit_events').selectAll().execute());
    expect(dump).not.toContain(current.password);
    expect(dump).not.toContain(ADMIN_PASSWORD);
    const stored = JSON.stringify(
      await s.tessera.store.db.selectFrom('rotated_secrets').selectAll().execute(),
    );
    expect(stored).not.toContain(current.password);
    expect(stored).not.toContain(ADMIN_PASSWORD);
  }, 60_000);

  it('keeps the last good credential when the target fails, records it, retries with backoff', async () => {
    const name = '/rotation/failing-db';
    expect((await create(name, [`${run}_c`, `${run}_d`])).status).toBe(201);
    const good = (await value(name)).body;
    expect(await canQuery(good.username, good.password)).toBe(true);

    // The administrator loses the right to change passwords.
    const c = await root();
    await c.query("REVOKE CREATE USER ON *.* FROM ?@'%'", [ADMIN]);
    await c.query('FLUSH PRIVILEGES');
    const failed = await api('POST', '/v1/rotated-secrets/rotate', { name });
    expect(failed.status).toBe(503);
    // Issue 10: the stable reason the target gave, not only a server log line.
    expect(failed.body.error.details.reason).toBe('permission_denied');
    expect(JSON.stringify(failed.body)).not.toContain(ADMIN_PASSWORD);
    let state = await describeItem(name);
    expect(state).toMatchObject({ version: 1, failures: 1, currentUsername: `${run}_c` });
    expect(Date.parse(state.nextAttemptAt) - Date.parse(state.lastFailureAt)).toBe(5000);
    // The last good credential is still served and still works.
    const still = (await value(name)).body;
    expect(still).toMatchObject({ username: good.username, password: good.password, version: 1 });
    expect(await canQuery(still.username, still.password)).toBe(true);

    // The job retries when due, with the delay doubled after a second failure.
    // The clock follows real time: it is moved past the backoff instead of waiting.
    const shift = (ms: number) => shiftClock(s, ms);
    shift(5100);
    for (let i = 0; i < 50 && (await describeItem(name)).failures < 2; i++) await sleep(100);
    state = await describeItem(name);
    expect(state.failures).toBe(2);
    expect(Date.parse(state.nextAttemptAt) - Date.parse(state.lastFailureAt)).toBe(10_000);

    const events = await s.tessera.store.db
      .selectFrom('audit_events')
      .select(['type', 'outcome', 'reason', 'data', 'resource'])
      .where('type', '=', 'rotated_secret.rotation_failed')
      .execute();
    expect(events.length).toBe(2);
    expect(events[0]!.reason).toMatch(/denied|ER_/i);
    expect(JSON.stringify(events)).not.toContain(ADMIN_PASSWORD);
    // The alert rules watch these events.
    const alert = rotationFailureAlert({
      ...events[0]!,
      data: JSON.parse(events[0]!.data),
    } as unknown as StoredAuditEvent);
    expect(alert).toMatchObject({
      rule: 'rotated_secret_rotation_failed',
      subject: `rotated-secret:${name}`,
    });

    // The right comes back: the next attempt succeeds and readers switch.
    await c.query("GRANT CREATE USER ON *.* TO ?@'%'", [ADMIN]);
    await c.end();
    shift(10_100);
    for (let i = 0; i < 50 && (await describeItem(name)).version < 2; i++) await sleep(100);
    state = await describeItem(name);
    expect(state).toMatchObject({
      version: 2,
      failures: 0,
      lastError: null,
      nextAttemptAt: null,
      currentUsername: `${run}_d`,
    });
    const next = (await value(name)).body;
    expect(await canQuery(next.username, next.password)).toBe(true);
    // Within the grace period the previous credential still works.
    expect(await canQuery(good.username, good.password)).toBe(true);
  }, 60_000);

  it('refuses a second item with the same name, and hides credentials from describe', async () => {
    const again = await create('/rotation/orders-db', [`${run}_e`, `${run}_f`]);
    expect(again.status).toBe(409);
    const d = await describeItem('/rotation/orders-db');
    expect(Object.keys(d)).not.toContain('password');
    expect(JSON.stringify(d)).not.toContain(ADMIN_PASSWORD);
  });
});
