import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialKindOf, sha256Hex } from '../src/crypto/credentials.js';
import { rotatedPassword } from '../src/crypto/random-password.js';
import { startWebhookReceiver, type WebhookReceiver } from './fixtures/webhook-receiver.js';
import { startTestServer, type TestServer } from './harness.js';
import {
  mysqlCanQuery as canQuery,
  followRealTime,
  MYSQL_HOST as HOST,
  MYSQL_PORT as PORT,
  mysqlRoot as root,
  rotatedSecretsApi,
  shiftClock,
  sleep,
} from './rotation.helpers.js';

/**
 * Issue 17 (ADR 0036): a rotated secret's password reported to `POST /v1/leaks` — the current one or
 * the previous one while its grace period runs — is found by the keyed hash stored at rotation and
 * replaced on the real MariaDB at once; the owner is alerted, the finding recorded, a re-report says
 * already dead.
 */
const run = `tslk${process.pid % 100000}_${Math.random().toString(36).slice(2, 6)}`;
const ADMIN = `${run}_adm`;
const ADMIN_PASSWORD = 'Adm1nPassw0rdForLeakTest';

describe('leaked rotated passwords on MariaDB', () => {
  let s: TestServer;
  let hook: WebhookReceiver;
  const bodies: string[] = [];
  const { api, value, rotate } = rotatedSecretsApi(() => s);
  const alerts = () => bodies.map((b) => JSON.parse(b)).filter((b) => b.alert?.rule === 'credential_leaked');
  const report = (items: unknown[]) => api('POST', '/v1/leaks', { items });
  const findings = async () => (await api('GET', '/v1/leaks?limit=100')).body.items as any[];
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
      ...extra,
    });
  async function waitForAlerts(n: number) {
    const end = Date.now() + 5000;
    while (alerts().length < n && Date.now() < end) await sleep(20);
    return alerts();
  }

  beforeAll(async () => {
    const c = await root();
    await c.query("CREATE USER ?@'%' IDENTIFIED BY ?", [ADMIN, ADMIN_PASSWORD]);
    await c
      .query("GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO ?@'%'", [ADMIN])
      .catch(() => c.query("GRANT CREATE USER, PROCESS, SUPER ON *.* TO ?@'%'", [ADMIN]));
    await c.query("GRANT SELECT ON mysql.* TO ?@'%'", [ADMIN]);
    await c.query("GRANT SELECT ON test.* TO ?@'%' WITH GRANT OPTION", [ADMIN]);
    await c.end();
    hook = await startWebhookReceiver(bodies);
    s = await startTestServer(
      'sqlite',
      { TESSERA_ALERT_WEBHOOK_URL: hook.url('/alerts') },
      { tessera: { rotationPollMs: 200 } },
    );
    followRealTime(s);
  });

  afterAll(async () => {
    await s?.close();
    await hook?.close();
    const c = await root();
    const [rows] = await c.query('SELECT User AS u, Host AS h FROM mysql.user WHERE User LIKE ?', [
      `${run}%`,
    ]);
    for (const { u, h } of rows as Array<{ u: string; h: string }>) await c.query('DROP USER ?@?', [u, h]);
    await c.end();
  });

  it('replaces a leaked current password and a leaked grace-period one on the target, alerts, is idempotent', async () => {
    const name = '/leaks/rotated/two';
    const [a, b] = [`${run}_a`, `${run}_b`];
    const created = await create(name, [a, b], { graceSeconds: 600 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const v1 = (await value(name)).body;
    expect(credentialKindOf(v1.password)).toBe('rotated_password');
    s.track(v1.password);
    const rotated = await rotate(name);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const v2 = (await value(name)).body;
    s.track(v2.password);
    expect(v2.username).toBe(b);
    // v1 is the previous password, still working for its grace period.
    expect(await canQuery(a, v1.password)).toBe(true);
    expect(await canQuery(b, v2.password)).toBe(true);
    // Keyed hashes of both live passwords, never the passwords (nor their plain SHA-256).
    const row = await s.tessera.store.db
      .selectFrom('rotated_secrets')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(row.previous_password_hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    const dump = JSON.stringify(row);
    for (const p of [v1.password, v2.password, sha256Hex(v1.password), sha256Hex(v2.password)])
      expect(dump).not.toContain(p);

    // The current password leaks: it stops working at once; readers get a new one on the same account.
    const r1 = await report([{ credential: v2.password, location: { uri: 'src/db.env', line: 3 } }]);
    expect(r1.status, JSON.stringify(r1.body)).toBe(200);
    expect(await canQuery(b, v2.password)).toBe(false);
    const v3 = (await value(name)).body;
    s.track(v3.password);
    expect(v3).toMatchObject({ username: b, version: 3 });
    expect(v3.password).not.toBe(v2.password);
    expect(await canQuery(b, v3.password)).toBe(true);
    // The grace-period password was not reported: it keeps working.
    expect(await canQuery(a, v1.password)).toBe(true);

    // The grace-period password leaks (reported by SHA-256 only): retired now, not in 10 minutes.
    const r2 = await report([{ hash: sha256Hex(v1.password), location: { uri: 'https://ci.example/7' } }]);
    expect(r2.status).toBe(200);
    expect(await canQuery(a, v1.password)).toBe(false);
    expect(await canQuery(b, v3.password)).toBe(true);
    expect((await value(name)).body).toMatchObject({ username: b, version: 3 });

    const got = await waitForAlerts(2);
    expect(got).toHaveLength(2);
    for (const alert of got) {
      expect(alert.alert.fields).toMatchObject({ kind: 'rotated_password', rotatedSecret: name });
      expect(JSON.stringify(alert)).not.toContain(v1.password);
      expect(JSON.stringify(alert)).not.toContain(v2.password);
    }
    const revoked = (await findings()).filter((f) => f.kind === 'rotated_password');
    expect(revoked.map((f) => f.outcome)).toEqual(['revoked', 'revoked']);
    expect(revoked.map((f) => f.locations[0].uri).sort()).toEqual(['https://ci.example/7', 'src/db.env']);

    // Reported again: nothing more happens to the target, nobody is alerted, already dead.
    const again = await report([{ credential: v2.password }, { credential: v1.password }]);
    expect(again.status).toBe(200);
    await sleep(200);
    expect(alerts()).toHaveLength(2);
    expect((await value(name)).body).toMatchObject({ version: 3, password: v3.password });
    expect(await canQuery(b, v3.password)).toBe(true);
    const events = await api('GET', '/v1/audit/events?type=leak.reported&limit=100');
    const repeats = events.body.items.filter((e: any) => e.data.repeat === true);
    expect(repeats.map((e: any) => e.data.outcome)).toEqual(['already_dead', 'already_dead']);
    // No password in the audit trail.
    const all = JSON.stringify((await api('GET', '/v1/audit/events?limit=500')).body);
    for (const p of [v1.password, v2.password, v3.password]) expect(all).not.toContain(p);
  });

  it('replaces a single-account password reported by hash; a stranger with the shape is no oracle', async () => {
    const name = '/leaks/rotated/single';
    const user = `${run}_s`;
    const created = await create(name, [user], { strategy: 'single-account' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const v1 = (await value(name)).body;
    s.track(v1.password);
    expect(await canQuery(user, v1.password)).toBe(true);
    const stranger = rotatedPassword(32);
    expect(credentialKindOf(stranger)).toBe('rotated_password');
    const r = await report([{ credential: v1.password }, { credential: stranger }]);
    expect(r.status).toBe(200);
    const shapes = r.body.items.map((i: any) => [typeof i.findingId, typeof i.auditHash].join());
    expect(new Set(shapes).size).toBe(1);
    expect(await canQuery(user, v1.password)).toBe(false);
    const v2 = (await value(name)).body;
    s.track(v2.password);
    expect(v2.version).toBe(2);
    expect(await canQuery(user, v2.password)).toBe(true);
    const byId = new Map((await findings()).map((f) => [f.id, f.outcome]));
    expect(r.body.items.map((i: any) => byId.get(i.findingId))).toEqual(['revoked', 'unknown']);
  });

  it('a target refusing the replacement is audited, and the retry (single-account) kills the password', async () => {
    const name = '/leaks/rotated/refused';
    const user = `${run}_r`;
    expect((await create(name, [user], { strategy: 'single-account' })).status).toBe(201);
    const v1 = (await value(name)).body;
    s.track(v1.password);
    const c = await root();
    await c.query("REVOKE CREATE USER ON *.* FROM ?@'%'", [ADMIN]);
    try {
      const r = await report([{ credential: v1.password }]);
      expect(r.status).toBe(200);
      const failed = await api('GET', '/v1/audit/events?type=rotated_secret.rotation_failed&limit=100');
      expect(failed.body.items.some((e: any) => e.data.phase === 'reset' && e.resource === name)).toBe(true);
      expect(await canQuery(user, v1.password)).toBe(true);
    } finally {
      await c.query("GRANT CREATE USER ON *.* TO ?@'%'", [ADMIN]);
      await c.end();
    }
    shiftClock(s, 10_000);
    const end = Date.now() + 8000;
    while ((await canQuery(user, v1.password)) && Date.now() < end) await sleep(200);
    expect(await canQuery(user, v1.password)).toBe(false);
    const v2 = (await value(name)).body;
    s.track(v2.password);
    expect(await canQuery(user, v2.password)).toBe(true);
  });
});
